"""Results that must not depend on the machine: the same bits whatever BLAS kernel numpy's
OpenBLAS picks for the processor (OPENBLAS_CORETYPE) and whatever the thread count.

Each variant runs in a child process (OpenBLAS reads its variables when it loads) and prints
digests of float64 results; every variant must print the same digests as the others. The
variants that matter: a kernel without FMA (Prescott), one with FMA (Haswell), 1 thread.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bitstream.fixed_order import matmul3, norm2, norm3, rows_times

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import hashlib, sys
sys.path.insert(0, %r)
import numpy as np
from bitstream.canonical_face import euler_to_rotation, load_canonical_face
from bitstream.geometry_payload import canonical_geometry, posed_canonical
from conformance.metrics.psnr import psnr_rgb, psnr_y, psnr_yuv420
from ifvc_synthesis.generators.geometric import GeometricGenerator
from ifvc_synthesis.idi import KeyFrameModel

def digest(*arrays):
    h = hashlib.md5()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

rng = np.random.default_rng(5)
frame = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
other = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
print("psnr", repr([m(f, g) for m in (psnr_rgb, psnr_y, psnr_yuv420)
                    for f, g in ((frame, frame), (frame, other))]))
key = np.zeros(14)
key[[7, 8, 9, 10]] = (0.8, 0.8, 0.1, 1.0)
targets = [key + d for d in (np.eye(14)[0] * 17.3, np.eye(14)[1] * -9.1 + np.eye(14)[9] * 0.4,
                             np.eye(14)[2] * 5.0 + np.eye(14)[3] * 0.03 + np.eye(14)[5] * 0.2)]
print("rotation", digest(*[euler_to_rotation(*t[:3]) for t in targets]))
print("face", digest(load_canonical_face().basis_centroid, np.array(load_canonical_face().face_width)))
print("posed", digest(*[posed_canonical(t, 256, 192) for t in targets]))
model = KeyFrameModel(canonical_geometry(key, 256, 256))
print("model", digest(model.model, model.outer_model, model.mesh_key_points))
geometries = [model.target_geometry(t) for t in targets]
print("target", digest(*[g.points for g in geometries], *[g.depth for g in geometries]))
print("field", digest(*[m for g in geometries for m in model.motion_field(g)]))
gen = GeometricGenerator()
picture = np.zeros((256, 256, 3), np.uint8)
picture[..., 0] = np.arange(256)[None, :]
picture[..., 1] = np.arange(256)[:, None]
picture[64:192, 64:192, 2] = 200
gen.set_keyframe(picture, key, b"", 0)
print("frames", digest(*[gen.synthesize(t) for t in targets]))
from ifvc_synthesis.generators.layered import LayeredGenerator
layered = LayeredGenerator()
layered.set_keyframe(picture, key, b"", 0)
print("layered", digest(layered.person_mask, layered.plate, *[layered.synthesize(t) for t in targets]))
from ifvc_synthesis.generators.geometric_3 import MeshGenerator
mesh = MeshGenerator()
mesh.set_keyframe(picture, key, b"", 0)
print("mesh", digest(mesh.mesh.key_uv, *[mesh.synthesize(t) for t in targets]))
""" % str(REPO)

VARIANTS = {
    "no FMA (Prescott)": {"OPENBLAS_CORETYPE": "Prescott"},
    "FMA (Haswell)": {"OPENBLAS_CORETYPE": "Haswell"},
    "1 thread": {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1"},
}


def _start(extra: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                        "OPENCV_FOR_THREADS_NUM")}
    return subprocess.Popen([sys.executable, "-c", PROBE], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, **extra}, cwd=REPO)


def test_metrics_and_generator_geometry_do_not_depend_on_blas_kernel_or_threads() -> None:
    children = {name: _start(extra) for name, extra in VARIANTS.items()}   # run side by side
    outputs = {}
    for name, child in children.items():
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, f"{name}: {err[-2000:]}"
        outputs[name] = out.splitlines()
    first_name, first = next(iter(outputs.items()))
    assert len(first) == 10 and first[0].startswith("psnr [100.0, ")
    for name, lines in outputs.items():
        differing = [a.split()[0] for a, b in zip(first, lines) if a != b]
        assert lines == first, f"{name} differs from {first_name} in: {', '.join(differing)}"


def test_fixed_order_products_are_the_written_sums() -> None:
    rng = np.random.default_rng(1)
    p, m = rng.normal(size=(50, 3)), rng.normal(size=(3, 3))
    got = rows_times(p, m)
    want = np.array([[(p[i, 0] * m[0, j] + p[i, 1] * m[1, j]) + p[i, 2] * m[2, j] for j in range(3)]
                     for i in range(50)])
    assert np.array_equal(got, want)                      # bit for bit: the order is fixed
    assert np.allclose(got, p @ m, rtol=1e-14, atol=1e-14)
    assert np.array_equal(matmul3(m, m), rows_times(m, m))
    assert np.array_equal(rows_times(p.reshape(5, 10, 3), m), got.reshape(5, 10, 3))
    assert norm3(np.array([2.0, 3.0, 6.0])) == 7.0 and norm2(np.array([3.0, 4.0])) == 5.0
    assert np.array_equal(norm3(p), np.sqrt((p[:, 0] ** 2 + p[:, 1] ** 2) + p[:, 2] ** 2))


@pytest.mark.parametrize("degenerate", [False, True])
def test_triangle_maps_send_each_corner_to_its_source(degenerate: bool) -> None:
    from ifvc_synthesis.idi import triangle_affine_maps
    rng = np.random.default_rng(2)
    dst = rng.uniform(0, 256, (40, 3, 2))
    src = dst + rng.normal(0, 3, (40, 3, 2))
    if degenerate:
        dst[:, 2] = dst[:, 0]                             # zero area: the centroid shift
    maps = triangle_affine_maps(dst, src)
    corners = np.concatenate([dst, np.ones((40, 3, 1))], axis=2)
    mapped = np.einsum("tkc,tcd->tkd", corners, maps)
    if degenerate:
        shift = src.mean(axis=1) - dst.mean(axis=1)
        assert np.allclose(mapped, dst + shift[:, None], atol=1e-9)
    else:
        assert np.allclose(mapped, src, atol=1e-8)
