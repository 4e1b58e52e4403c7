"""Extract the canonical 3D face and the Procrustes landmark weights into a committed data file.

The analysis package must not read ../shared at run time, so the few numbers it needs are
carried in bitstream/data/canonical_face.json. This script regenerates that file from
MediaPipe's face_geometry data (Apache-2.0, google-ai-edge/mediapipe commit
85c0cdc7d70653888903c88df45962b764296342, mediapipe/modules/face_geometry/data).

    python -m tools.extract_canonical_face \
        --obj ../shared/data/facemodel/face_model_with_iris.obj \
        --pbtxt ../shared/data/facemodel/geometry_pipeline_metadata_including_iris_landmarks.pbtxt
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from ifvc_common.outputs import OutputTransaction

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "bitstream" / "data" / "canonical_face.json"
MEDIAPIPE_COMMIT = "85c0cdc7d70653888903c88df45962b764296342"
BASIS_RE = re.compile(r"procrustes_landmark_basis\s*\{\s*landmark_id:\s*(\d+)\s+weight:\s*([0-9.eE+-]+)\s*\}")


def read_obj_vertices(path: Path) -> list[list[float]]:
    vertices = []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            vertices.append([float(v) for v in line.split()[1:4]])
    return vertices


def read_procrustes_basis(path: Path) -> list[tuple[int, float]]:
    return [(int(i), float(w)) for i, w in BASIS_RE.findall(path.read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obj", type=Path, required=True, help="face_model_with_iris.obj (478 vertices)")
    parser.add_argument("--pbtxt", type=Path, required=True, help="geometry pipeline metadata with procrustes_landmark_basis")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for p in (args.obj, args.pbtxt):
        if not p.is_file():
            print(f"error: cannot read {p}", file=sys.stderr)
            return 2
    vertices = read_obj_vertices(args.obj)
    basis = read_procrustes_basis(args.pbtxt)
    if len(vertices) != 478 or not basis:
        print(f"error: expected 478 vertices and a procrustes basis, got {len(vertices)} vertices and "
              f"{len(basis)} basis entries", file=sys.stderr)
        return 2
    data = {
        "description": "MediaPipe canonical face model (478 vertices incl. iris, centimetres, x right, "
                       "y up, z towards the viewer) and the procrustes_landmark_basis weights",
        "source": "google-ai-edge/mediapipe mediapipe/modules/face_geometry/data "
                  f"({args.obj.name}, {args.pbtxt.name}) commit {MEDIAPIPE_COMMIT}",
        "licence": "Apache-2.0 (Copyright 2020 The MediaPipe Authors)",
        "source_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (args.obj, args.pbtxt)},
        "procrustes_landmark_ids": [i for i, _ in basis],
        "procrustes_landmark_weights": [w for _, w in basis],
        "vertices": [[round(c, 6) for c in v] for v in vertices],
    }
    with OutputTransaction() as outputs:
        outputs.write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out} ({len(vertices)} vertices, {len(basis)} procrustes weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
