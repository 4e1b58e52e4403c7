"""Extract the canonical face mesh topology (triangles) and its left-right vertex symmetry map
into a committed data file for the mesh generator ifvc-geometric-3 (spec Annex H).

The generators must not read ../shared at run time, so the triangle list is carried in
ifvc_synthesis/generators/data/canonical_face_mesh.json. The vertices themselves are already in
bitstream/data/canonical_face.json (tools/extract_canonical_face.py); this script checks that
they are the same. Source: MediaPipe's canonical_face_model.obj (Apache-2.0,
google-ai-edge/mediapipe commit 85c0cdc7d70653888903c88df45962b764296342,
mediapipe/modules/face_geometry/data).

    python -m tools.extract_face_mesh --obj ../shared/data/facemodel/canonical_face_model.obj
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from bitstream.canonical_face import load_canonical_face
from ifvc_common.outputs import OutputTransaction

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "ifvc_synthesis" / "generators" / "data" / "canonical_face_mesh.json"
MEDIAPIPE_COMMIT = "85c0cdc7d70653888903c88df45962b764296342"
NUM_MESH_VERTICES = 468


def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3), triangles (T, 3) zero-based) of a Wavefront OBJ with 'f a/t b/t c/t' faces."""
    vertices, faces = [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "v":
            vertices.append([float(v) for v in parts[1:4]])
        elif parts and parts[0] == "f":
            faces.append([int(p.split("/")[0]) - 1 for p in parts[1:4]])
    return np.array(vertices, np.float64), np.array(faces, np.int64)


def symmetry_map(vertices: np.ndarray) -> np.ndarray:
    """For each vertex, the vertex nearest to its mirror image (x -> -x)."""
    mirrored = vertices * np.array([-1.0, 1.0, 1.0])
    d = ((mirrored[:, None, :] - vertices[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obj", type=Path, required=True, help="canonical_face_model.obj (468 vertices)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.obj.is_file():
        print(f"error: cannot read {args.obj}", file=sys.stderr)
        return 2
    vertices, triangles = read_obj(args.obj)
    if len(vertices) != NUM_MESH_VERTICES or len(triangles) == 0:
        print(f"error: expected {NUM_MESH_VERTICES} vertices and triangles, got {len(vertices)} and "
              f"{len(triangles)}", file=sys.stderr)
        return 2
    shipped = load_canonical_face().vertices[:NUM_MESH_VERTICES]
    if float(np.abs(shipped - vertices).max()) > 1e-5:
        print("error: the OBJ's vertices differ from bitstream/data/canonical_face.json", file=sys.stderr)
        return 2
    sym = symmetry_map(vertices)
    if not np.array_equal(sym[sym], np.arange(len(sym))):
        print("error: the mirror map is not an involution", file=sys.stderr)
        return 2
    data = {
        "description": "MediaPipe canonical face mesh topology: 898 triangles over the first 468 vertices of "
                       "bitstream/data/canonical_face.json (zero-based, in the OBJ's order; counter-clockwise seen "
                       "from the front, x right, y up, except 10 folded ones at the lips and below the nose), and the left-right vertex symmetry map (nearest vertex to the mirror "
                       "image x -> -x; exact for this model)",
        "source": f"google-ai-edge/mediapipe mediapipe/modules/face_geometry/data ({args.obj.name}) "
                  f"commit {MEDIAPIPE_COMMIT}",
        "licence": "Apache-2.0 (Copyright 2020 The MediaPipe Authors)",
        "source_sha256": {args.obj.name: hashlib.sha256(args.obj.read_bytes()).hexdigest()},
        "triangles": triangles.tolist(),
        "symmetry": sym.tolist(),
    }
    with OutputTransaction() as outputs:
        outputs.write_text(args.out, json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(triangles)} triangles, {len(sym)} symmetry entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
