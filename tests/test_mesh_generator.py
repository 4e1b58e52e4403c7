"""ifvc-geometric-3 (spec Annex H): the integer z-buffer, the face mesh and shell, mirrored
texture, mouth interior and eyelids, determinism, and no black pixel under extreme edits."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.canonical_face import pose_from_values
from bitstream.generator_registry import GENERATOR_BY_NAME, NO_WEIGHTS_SHA256
from bitstream.geometry_payload import GP_LANDMARK_IDS
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_synthesis.generators import Generator, MeshGenerator, get_generator
from ifvc_synthesis.generators import mesh_render
from ifvc_synthesis.generators.mesh_model import NUM_MESH_VERTICES, load_face_mesh
from ifvc_synthesis.generators.mesh_render import interpolate, rasterize
from ifvc_synthesis.idi import EYE_LEFT, INNER_LIP_RING, _idx
from tests.test_layered_generator import key_values, textured_picture

I = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
W = H = 128
EXTREME_EDITS = [("head_yaw", 25.0), ("head_yaw", -25.0), ("head_yaw", 40.0), ("head_yaw", -40.0),
                 ("head_pitch", 20.0), ("head_pitch", -20.0), ("head_tx", 0.2), ("head_tx", -0.2)]


@pytest.fixture(scope="module")
def mesh_gen() -> MeshGenerator:
    gen = get_generator("ifvc-geometric-3")
    assert isinstance(gen, MeshGenerator)
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    return gen


def test_registered_without_weights() -> None:
    gen = get_generator("ifvc-geometric-3")
    assert isinstance(gen, Generator) and gen.name == "ifvc-geometric-3"
    assert gen.weights_sha256 == NO_WEIGHTS_SHA256 == GENERATOR_BY_NAME["ifvc-geometric-3"].weights_sha256
    assert GENERATOR_BY_NAME["ifvc-geometric-3"].clause == "Annex H"


# -- the rasteriser (Annex H.3) ------------------------------------------------------------------
def clause_edges(ax, ay, bx, by, cx, cy, px, py):  # type: ignore[no-untyped-def]
    """H.3 step 2 as written: the edge functions of P against the edges opposite a, b and c."""
    w0 = (cx - bx) * (py - by) - (cy - by) * (px - bx)
    w1 = (ax - cx) * (py - cy) - (ay - cy) * (px - cx)
    w2 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    return w0, w1, w2


def clause_raster(pts: np.ndarray, depth: np.ndarray, tris: np.ndarray, width: int, height: int,
                  enabled: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H.3 steps 1-5 pixel by pixel in Python integers (no numpy arithmetic): the visible
    triangle (-1: none), its weights w_e / A and its depth zeta / 16."""
    P, Z = mesh_render.to_fixed(pts).tolist(), mesh_render.to_fixed(depth).tolist()
    tri = np.full((height, width), -1, np.int64)
    bary = np.zeros((height, width, 3), np.float64)
    dep = np.full((height, width), -np.inf)
    best: dict[tuple[int, int], tuple[int, int, tuple[int, int, int], int]] = {}
    for t, (i0, i1, i2) in enumerate(np.asarray(tris).tolist()):
        if enabled is not None and not enabled[t]:
            continue
        (ax, ay), (bx, by), (cx, cy) = P[i0], P[i1], P[i2]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0:
            continue
        s = 1 if area > 0 else -1
        for j in range(height):
            for i in range(width):
                w = clause_edges(ax, ay, bx, by, cx, cy, 16 * i, 16 * j)
                if min(s * w[0], s * w[1], s * w[2]) < 0:
                    continue
                zeta = ((w[0] * Z[i0] + w[1] * Z[i1] + w[2] * Z[i2]) * s) // (area * s)
                key = zeta * 65536 + (65535 - t)
                if (j, i) not in best or key > best[(j, i)][0]:
                    best[(j, i)] = (key, t, w, area)
    for (j, i), (key, t, w, area) in best.items():
        tri[j, i] = t
        bary[j, i] = [float(w[0]) / float(area), float(w[1]) / float(area), float(w[2]) / float(area)]
        dep[j, i] = float(key >> 16) / 16.0
    return tri, bary, dep


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.sampled_from([4, 30, 2000, 3_000_000]),
       st.booleans(), st.sampled_from([1, 5, 1 << 20]))
def test_rasteriser_is_the_clause_pixel_by_pixel(seed: int, n_tris: int, reach: float, grid: bool,
                                                 chunk: int) -> None:
    """The vectorised rasteriser (exact row spans, linear edge functions along a row, chunks)
    against H.3 evaluated per pixel and triangle: the same visible triangle, the same weights
    bit for bit (the sign of a zero weight included) and the same depth, for overlapping
    triangles of either orientation, vertices on the 1/16 grid or between, near or far outside
    the picture (clipped to 2^20), shared vertices and triangles left out."""
    rng = np.random.default_rng(seed)
    w, h = int(rng.integers(1, 23)), int(rng.integers(1, 19))
    pts = rng.uniform(-reach, reach + 24, (2 * n_tris + 1, 2))
    if grid:
        pts = np.round(pts * 4) / 4                 # on the grid: edges through pixel centres
    depth = rng.uniform(-50, 50, len(pts)) if seed % 3 else np.zeros(len(pts))
    tris = rng.integers(0, len(pts), (n_tris, 3))
    enabled = rng.random(n_tris) > 0.25 if seed % 4 == 0 else None
    old = mesh_render.CHUNK_ENTRIES
    try:
        mesh_render.CHUNK_ENTRIES = chunk
        r = rasterize(pts, depth, tris, w, h, enabled)
    finally:
        mesh_render.CHUNK_ENTRIES = old
    tri, bary, dep = clause_raster(pts, depth, tris, w, h, enabled)
    assert np.array_equal(r.tri, tri)
    assert np.array_equal(r.bary.view(np.int64), bary.view(np.int64))
    assert np.array_equal(r.depth, dep)


def test_z_buffer_picks_the_nearer_triangle() -> None:
    """Two triangles over the same pixels: the one with the larger depth (nearer) is visible,
    whatever their order; a triangle that crosses the other shows where it is in front."""
    pts = np.array([[2, 2], [30, 2], [2, 30], [2, 2], [30, 2], [2, 30]], np.float64)
    for near_first in (True, False):
        depth = np.array([5, 5, 5, 1, 1, 1], np.float64) if near_first else np.array([1, 1, 1, 5, 5, 5], np.float64)
        r = rasterize(pts, depth, np.array([[0, 1, 2], [3, 4, 5]]), 32, 32)
        assert (r.tri[r.covered] == (0 if near_first else 1)).all()
        assert r.covered[10, 10] and not r.covered[31, 31]
    # triangle 0 at depth 3 everywhere; triangle 1 tilts from depth 0 (left) to 6 (right):
    # triangle 1 is in front where its depth exceeds 3, i.e. right of x = 15
    quad = np.array([[0, 0], [30, 0], [0, 30], [30, 30]], np.float64)
    pts = np.vstack([quad[[0, 1, 2]], quad[[0, 1, 2]]])
    depth = np.array([3, 3, 3, 0, 6, 0], np.float64)
    r = rasterize(pts, depth, np.array([[0, 1, 2], [3, 4, 5]]), 32, 32)
    assert (r.tri[5, 2:14] == 0).all() and (r.tri[5, 17:24] == 1).all()
    assert r.depth[5, 20] == pytest.approx(4.0)


def test_equal_depths_go_to_the_lower_triangle_index() -> None:
    pts = np.array([[0, 0], [20, 0], [0, 20]] * 3, np.float64)
    r = rasterize(pts, np.full(9, 2.0), np.array([[6, 7, 8], [3, 4, 5], [0, 1, 2]]), 24, 24)
    assert (r.tri[r.covered] == 0).all()


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.lists(st.integers(-80, 600), min_size=6, max_size=6), st.integers(1, 64))
def test_barycentrics_reproduce_pixel_centres(coords: list[int], chunk: int) -> None:
    """Vertices on the 1/16-pixel grid: the interpolated vertex positions are the pixel centres,
    and the result does not depend on how the candidates are chunked."""
    pts = np.array(coords, np.float64).reshape(3, 2) / 16.0
    tris = np.array([[0, 1, 2]])
    r = rasterize(pts, np.zeros(3), tris, 40, 40)
    if r.covered.any():
        xy = interpolate(r, tris, pts)
        ys, xs = np.nonzero(r.covered)
        assert np.allclose(xy[ys, xs, 0], xs, atol=1e-9) and np.allclose(xy[ys, xs, 1], ys, atol=1e-9)
        assert np.allclose(r.bary[r.covered].sum(axis=1), 1.0)
        assert (r.bary[r.covered] >= -1e-12).all()
    old = mesh_render.CHUNK_ENTRIES
    try:
        mesh_render.CHUNK_ENTRIES = chunk
        r2 = rasterize(pts, np.zeros(3), tris, 40, 40)
    finally:
        mesh_render.CHUNK_ENTRIES = old
    assert np.array_equal(r.tri, r2.tri) and np.array_equal(r.bary, r2.bary)


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.sampled_from([np.float32, np.float64]))
def test_interpolation_is_the_clause_formula_pixel_by_pixel(seed: int, n_tris: int, dtype: type) -> None:
    """interpolate() (vectorised over the whole picture) against Annex H.3 written out per
    pixel: the winner's corners weighted (b0 a0 + b1 a1) + b2 a2 in float64, then stored as
    dtype, bit for bit; exactly 0 where no triangle covers. The weights and depth of each
    winner are the exact integer edge functions over the doubled area."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-8, 40, (3 * n_tris, 2))
    depth = rng.uniform(0, 10, 3 * n_tris)
    tris = np.arange(3 * n_tris).reshape(n_tris, 3)
    attr = rng.normal(0, 50, (3 * n_tris, 3))
    r = rasterize(pts, depth, tris, 32, 24)
    got = interpolate(r, tris, attr, dtype)
    assert got.dtype == dtype and got.shape == (24, 32, 3)
    P = mesh_render.to_fixed(pts)
    for y in range(24):
        for x in range(32):
            t = int(r.tri[y, x])
            if t < 0:
                assert (got[y, x] == 0).all() and (r.bary[y, x] == 0).all()
                continue
            (ax, ay), (bx, by), (cx, cy) = (P[i] for i in tris[t])
            area = float((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))
            w = clause_edges(ax, ay, bx, by, cx, cy, x * mesh_render.ONE, y * mesh_render.ONE)
            b = [float(wi) / area for wi in w]
            assert list(r.bary[y, x]) == b
            a0, a1, a2 = attr[tris[t]]
            want = ((b[0] * a0 + b[1] * a1) + b[2] * a2).astype(dtype)
            assert np.array_equal(got[y, x], want)


def test_shared_edges_leave_no_gap() -> None:
    """A square of two triangles covers every pixel centre inside it."""
    pts = np.array([[0.5, 0.5], [20.5, 0.5], [0.5, 20.5], [20.5, 20.5]])
    r = rasterize(pts, np.zeros(4), np.array([[0, 1, 2], [1, 3, 2]]), 24, 24)
    assert r.covered[1:21, 1:21].all() and not r.covered[0].any() and not r.covered[:, 21:].any()


# -- the mesh (Annex H.2) ------------------------------------------------------------------------
def test_topology_and_mirror_map() -> None:
    topo = load_face_mesh()
    assert topo.triangles.shape == (898, 3) and topo.triangles.max() == NUM_MESH_VERTICES - 1
    assert np.array_equal(topo.symmetry[topo.symmetry], np.arange(NUM_MESH_VERTICES))
    assert topo.mouth_gap.sum() == 18


def test_mesh_fits_the_key_landmarks(mesh_gen: MeshGenerator) -> None:
    m = mesh_gen.mesh
    ids = list(GP_LANDMARK_IDS)
    assert np.allclose(m.key_uv[ids], mesh_gen.model.key_landmarks, atol=1e-6)
    assert np.array_equal(m.symmetry[m.symmetry], np.arange(len(m.symmetry)))
    # the shell lies outside the face and behind its outline
    assert m.key_depth[NUM_MESH_VERTICES:].max() < m.key_depth[:NUM_MESH_VERTICES].max()


def test_mirrored_texture_only_where_the_key_frame_shows_too_little() -> None:
    """A key frame turned by 30 degrees shows one cheek foreshortened; turned back the other
    way, that cheek takes its mirror's texture, and only that side does."""
    key = key_values()
    key[I["head_yaw"]] = 30.0
    gen = MeshGenerator()
    gen.set_keyframe(textured_picture(), key, b"", 0)
    m = gen.mesh
    key_raster = rasterize(m.key_uv, m.key_depth, m.triangles, m.width, m.height)
    hidden = gen._hidden(key_raster.depth, m.key_uv, m.key_depth)
    assert hidden.any()                                              # the far side of the nose, the cheek
    assert gen.mirror_share(m.key_facing, hidden).max() == 0.0      # the key pose itself: none
    v = key.copy()
    v[I["head_yaw"]] = -30.0
    tgt = m.project(m.face_vertices(gen.model.target_model(v)[0]), pose_from_values(v, m.width, m.height))
    share = gen.mirror_share(m.vertex_facing(tgt))
    assert share.max() > 0.5
    x = m.face.vertices[:NUM_MESH_VERTICES, 0]
    side = np.sign(x[share[:NUM_MESH_VERTICES] > 0.5])
    assert abs(side.mean()) > 0.9
    # turned further the same way instead, the key frame already shows what comes into view
    v[I["head_yaw"]] = 40.0
    tgt = m.project(m.face_vertices(gen.model.target_model(v)[0]), pose_from_values(v, m.width, m.height))
    share_same = gen.mirror_share(m.vertex_facing(tgt))[:NUM_MESH_VERTICES]
    assert share_same.sum() < 0.25 * share[:NUM_MESH_VERTICES].sum()


# -- the generator (Annex H.4, H.5) --------------------------------------------------------------
def test_identity(mesh_gen: MeshGenerator) -> None:
    out = mesh_gen.synthesize(key_values())
    assert cv2.PSNR(out, textured_picture()) > 35


@pytest.mark.parametrize("element,offset", EXTREME_EDITS)
def test_no_black_pixel_under_extreme_edits(mesh_gen: MeshGenerator, element: str, offset: float) -> None:
    v = key_values()
    v[I[element]] += offset
    out = mesh_gen.synthesize(v)
    assert (out.max(axis=2) > 0).all()
    still = ~mesh_gen.person_mask.astype(bool) & (mesh_gen.person_alpha(v) == 0)
    _, opacity = mesh_gen.render_mesh(v)
    still &= opacity == 0
    assert still.mean() > 0.02
    assert np.array_equal(out[still], textured_picture()[still])      # the background stays


def test_deterministic_across_instances_and_opencv_threads() -> None:
    v = key_values()
    v[I["head_yaw"]] += 30.0
    v[I["head_pitch"]] += 12.0
    v[I["mouth_open"]] += 0.2
    v[I["eye_blink_left"]] = 0.0
    outputs = []
    before = cv2.getNumThreads()
    try:
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            gen = MeshGenerator()
            gen.set_keyframe(textured_picture(), key_values(), b"", 0)
            outputs.append(gen.synthesize(v).tobytes())
    finally:
        cv2.setNumThreads(before)
    assert outputs[0] == outputs[1] == outputs[2]


EXPRESSION = ("eye_blink_left", "eye_blink_right", "mouth_open", "mouth_width", "mouth_shape_1", "mouth_shape_2",
              "mouth_shape_3")


def test_target_model_is_kept_for_the_same_expression_only() -> None:
    """IDI's target_model (Annex E.3.2) reads the expression elements alone: a call with the same
    expression in another pose returns the kept result, read-only; any expression element
    changed gives a new one, equal to the computation's own; pictures drawn after others are a
    fresh generator's, byte for byte."""
    gen = MeshGenerator()
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    v = key_values()
    v[I["mouth_open"]] += 0.2
    first = gen.model.target_model(v)
    turned = v.copy()
    turned[I["head_yaw"]] += 20.0
    turned[I["head_tx"]] += 0.1
    assert gen.model.target_model(turned) is first and not first[0].flags.writeable
    for name in EXPRESSION:
        assert gen.model.target_model(v) is first            # v's result is the one kept
        other = v.copy()
        other[I[name]] += 0.25
        kept = gen.model.target_model(other)
        assert kept is not first, name
        np.testing.assert_array_equal(kept[0], gen.model._target_model(other)[0])
        first = gen.model.target_model(v)                    # computed again: other's was kept
    fresh = MeshGenerator()
    fresh.set_keyframe(textured_picture(), key_values(), b"", 0)
    assert np.array_equal(gen.synthesize(turned), fresh.synthesize(turned))


def test_tiny_picture_synthesises() -> None:
    for size in (32, 64):
        gen = MeshGenerator()
        gen.set_keyframe(textured_picture(size, size), key_values(), b"", 0)
        v = key_values()
        v[I["head_yaw"]] += 40.0
        assert (gen.synthesize(v).max(axis=2) > 0).all()


SKIN = (205, 160, 130)


def skin_face_with_dark_left_eye(corner: tuple[int, int, int] | None = None,
                                 cls: type[MeshGenerator] = MeshGenerator
                                 ) -> tuple[MeshGenerator, np.ndarray, np.ndarray]:
    """(generator, key frame, key values): a uniform SKIN picture with a large face (head_tz
    0.8) whose left eye opening is painted dark (a closed eye must not show it), and sample
    (0, 0) set to ``corner`` if given; the generator a ``cls`` (shared with
    tests/test_flow_5_generator.py and tests/test_geometric_6_generator.py)."""
    key = np.empty((160, 160, 3), np.uint8)
    key[...] = SKIN
    values = key_values()
    values[I["head_tz"]] = 0.8
    gen = cls()
    gen.set_keyframe(key, values, b"", 0)
    lm = gen.model.key_landmarks
    painted = key.copy()
    cv2.fillPoly(painted, [np.round(lm[_idx(EYE_LEFT["ring"])]).astype(np.int32)], (30, 20, 20))
    assert (painted != key).any(axis=2).sum() > 60                   # an eye of some size
    if corner is not None:
        painted[0, 0] = corner
    gen.set_keyframe(painted, values, b"", 0)
    return gen, painted, values


def test_closed_eye_is_lid_skin_and_open_mouth_a_dark_cavity() -> None:
    """A uniform skin picture with a large face (head_tz 0.8) and the left eye's opening
    painted dark: closed, that eye shows lid skin (and a soft lash line), not the dark opening;
    opened further, the mouth is a dark cavity with a brighter teeth band at its top."""
    skin = np.array(SKIN, np.float64)
    gen, key, values = skin_face_with_dark_left_eye()
    lm = gen.model.key_landmarks
    v = values.copy()
    v[I["eye_blink_left"]] = 0.0
    v[I["mouth_open"]] += 0.25
    out = gen.synthesize(v).astype(np.float64)
    tg = gen.target_geometry(v)
    # the closed eye: the key's open-eye region, now lid skin
    eye_mask = np.zeros(key.shape[:2], np.uint8)
    cv2.fillPoly(eye_mask, [np.round(lm[_idx(EYE_LEFT["ring"])]).astype(np.int32)], 1)
    near_skin = np.abs(out[eye_mask > 0] - skin).max(axis=1) < 30
    assert near_skin.mean() > 0.5          # mostly lid skin; the rest is the soft lash line
    # the open mouth: darker than the skin inside the inner-lip polygon, with a brighter teeth band on top
    mouth = np.zeros(key.shape[:2], np.uint8)
    ring = tg.landmarks[_idx(INNER_LIP_RING)]
    cv2.fillPoly(mouth, [np.round(ring).astype(np.int32)], 1)
    assert mouth.sum() > 10
    inside = out[mouth > 0].mean(axis=1)
    assert inside.mean() < 0.6 * skin.mean()
    rows = np.nonzero(mouth.any(axis=1))[0]
    top, mid = rows[: max(1, len(rows) // 5)], rows[len(rows) // 2: len(rows) // 2 + 1]
    luma = out.mean(axis=2)
    assert luma[top][mouth[top] > 0].mean() > luma[mid][mouth[mid] > 0].mean()


def test_real_key_frame_head_turn(shared_data) -> None:
    """A real key frame turned by 30 degrees: no black pixel, the background stays, and the
    far cheek takes mirrored texture."""
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry

    from tests.test_idi_generator import read_clip
    path = shared_data / "faces" / "raw" / "liveportrait_driving_d10.mp4"
    if not path.exists():
        pytest.skip(f"{path} missing")
    key = read_clip(path, [0])[0]
    values, payload = compute_keyframe_geometry(key)
    gen = get_generator("ifvc-geometric-3")
    gen.set_keyframe(key, values, payload, 1)
    assert cv2.PSNR(gen.synthesize(values), key) > 30
    for offset in (30.0, -30.0):
        v = values.copy()
        v[I["head_yaw"]] += offset
        out = gen.synthesize(v)
        assert (out.max(axis=2) > 0).all() or (key.max(axis=2) == 0).any()
        _, opacity = gen.render_mesh(v)
        still = ~gen.person_mask.astype(bool) & (gen.person_alpha(v) == 0) & (opacity == 0)
        assert still.mean() > 0.05 and np.array_equal(out[still], key[still])
