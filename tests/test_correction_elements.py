"""The correction elements (spec 1.2 draft: Table 3e, Table 3d's group "correction", 7.4.7's
csh_correction_elements_flag, clause 8.6.2): their syntax, the decoder's correction stage and the
encoder's choice. Synthetic pictures and streams, plus one real clip from ../shared/data."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.errors import BitstreamError
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN, check_sequence_header
from bitstream.semantic_elements import (CORRECTION_ELEMENT_IDS, CORRECTION_ELEMENTS, DEFAULT_ELEMENT_IDS,
                                         ELEMENT_BY_ID, ELEMENT_BY_NAME, SEMANTIC_ELEMENTS)
from bitstream.semantic_groups import GROUP_CORRECTION, element_group
from bitstream.stream import ParsedSemanticUnit, StreamParser, StreamWriter
from bitstream.structures import ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, SequenceHeader
from bitstream.trace import TraceEntry
from conformance.stream_kit import header, trajectory_levels
from conformance.synthetic_semantics import demo_keyframe
from ifvc_synthesis.correction_grid import CorrectionLayout, apply_correction, apply_grid, dense_field
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, parse_edit
from ref_encoder.correction_grid import (CorrectionChooser, axis_weights, normal_block, fit_grid, pooled_flow, sample,
                                        resolve_correction, se_bits, vvc_lambda)
from ref_encoder.encoder import Encoder, EncoderConfig
from tests.test_compact_header import coded_bits, default_sh, read, write

CORR_P = [ELEMENT_BY_ID[e].default_precision for e in CORRECTION_ELEMENT_IDS]


# --- Table 3e, Table 3d ------------------------------------------------------------------

def test_table_3e_rows() -> None:
    """32 elements, ids 16..47: corr_dx_k then corr_dy_k of cell k in raster order, range -1..1
    (picture widths, heights), default precision 8, max 12, neutral 0, group "correction"; they are
    not in clause 8.3.5's value vector (Table 3)."""
    assert CORRECTION_ELEMENT_IDS == tuple(range(16, 48))
    assert [e.name for e in CORRECTION_ELEMENTS] == [f"corr_dx_{k}" for k in range(16)] + [f"corr_dy_{k}" for k in range(16)]
    for e in CORRECTION_ELEMENTS:
        assert (e.min_value, e.max_value, e.default_precision, e.max_precision, e.neutral_value) == (-1, 1, 8, 12, 0)
        assert e.unit == ("picture width" if "dx" in e.name else "picture height")
        assert element_group(e.element_id) == GROUP_CORRECTION
        assert ELEMENT_BY_ID[e.element_id] is e and ELEMENT_BY_NAME[e.name] is e
    assert len(SEMANTIC_ELEMENTS) == 16 and all(e.element_id < 16 for e in SEMANTIC_ELEMENTS)


# --- compact_sequence_header( ) -------------------------------------------------------------

def _corr_sh(**kw) -> SequenceHeader:  # type: ignore[no-untyped-def]
    ids = [*DEFAULT_ELEMENT_IDS, *CORRECTION_ELEMENT_IDS]
    return default_sh(sh_sem_element_id=ids, sh_sem_precision=[ELEMENT_BY_ID[e].default_precision for e in ids], **kw)


def test_correction_set_costs_no_more_than_the_default_set() -> None:
    """csh_correction_elements_flag (7.4.7): the default set followed by the 32 correction
    elements at their default precisions is as long as the default set; the flag is coded in
    both, 1 only for the set that ends with Table 3e."""
    plain, corr = default_sh(), _corr_sh()
    assert coded_bits(corr) == coded_bits(plain)
    for sh, flag in ((plain, 0), (corr, 1)):
        trace: list[TraceEntry] = []
        write(sh, trace)
        assert [t.value for t in trace if t.name == "csh_correction_elements_flag"] == [flag]
        assert read(write(sh)) == sh
    # with the background: both flags 1, ids default + bg_tx, bg_ty + Table 3e
    ids = [*DEFAULT_ELEMENT_IDS, 14, 15, *CORRECTION_ELEMENT_IDS]
    both = default_sh(sh_sem_element_id=ids, sh_sem_precision=[ELEMENT_BY_ID[e].default_precision for e in ids])
    trace = []
    write(both, trace)
    assert {t.name: t.value for t in trace if t.name.endswith("elements_flag")} == {
        "csh_default_sem_elements_flag": 1, "csh_background_elements_flag": 1, "csh_correction_elements_flag": 1}
    assert read(write(both)) == both


def test_correction_elements_in_another_order_are_listed_explicitly() -> None:
    ids = [*DEFAULT_ELEMENT_IDS, *reversed(CORRECTION_ELEMENT_IDS)]
    sh = default_sh(sh_sem_element_id=ids, sh_sem_precision=[ELEMENT_BY_ID[e].default_precision for e in ids])
    trace: list[TraceEntry] = []
    write(sh, trace)
    assert any(t.name == "sh_num_sem_elements" for t in trace)
    assert not any(t.name == "csh_correction_elements_flag" for t in trace)
    assert read(write(sh)) == sh


def test_main_profile_refuses_correction_elements() -> None:
    """Annex A.2: the Main profile has ids 0..13 only; A.4: the Compact profile allows Table 3e."""
    sh = header(ids=[0, 16], precisions=[1, 8], sh_profile_idc=PROFILE_MAIN)
    with pytest.raises(BitstreamError, match=r"sh_sem_element_id\[1\] = 16 is not a Main profile element"):
        check_sequence_header(sh)
    check_sequence_header(replace(sh, sh_profile_idc=PROFILE_COMPACT))


# --- semantic units with the correction group ----------------------------------------------

def _grid_stream(entropy: int, frames: int = 12, held_from: int = 6, seed: int = 5) -> tuple[bytes, SequenceHeader, list[list[int]]]:
    """A raw key frame and frames-1 semantic frames of the baseline face with the 32 correction
    elements: a changing grid up to frame held_from, then the same grid (held)."""
    ids = [*range(14), *CORRECTION_ELEMENT_IDS]
    sh = header(entropy=entropy, ids=ids, precisions=[*[1, 1, 1, 7, 7, 6, 0, 4, 4, 7, 6, 3, 3, 3], *CORR_P],
                width=64, height=64, sh_profile_idc=PROFILE_COMPACT)
    rng = np.random.default_rng(seed)
    face = trajectory_levels(replace(sh, sh_sem_element_id=list(range(14)), sh_sem_precision=sh.sh_sem_precision[:14]),
                             frames, seed)
    grid = [0] * 32
    levels = []
    for f in range(frames):
        if 0 < f <= held_from:
            grid = [int(v) for v in rng.integers(-3, 4, 32)]
        levels.append(face[f] + list(grid))
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(64, 64), levels[0])
    for start in range(1, frames, 4):
        w.semantic_unit(levels[start:start + 4])
    w.end_of_sequence()
    return w.getvalue(), sh, levels


@pytest.mark.parametrize("entropy", [ENTROPY_CABAC, ENTROPY_EXP_GOLOMB])
def test_grid_levels_round_trip_and_a_held_grid_codes_group_flag_0(entropy: int) -> None:
    data, sh, levels = _grid_stream(entropy)
    trace: list[TraceEntry] = []
    parsed = [f.levels for u in StreamParser(trace=trace).parse(data) if isinstance(u, ParsedSemanticUnit)
              for f in u.frames]
    assert parsed == levels[1:]
    # the group-4 flags of each semantic unit in order (a new unit starts at unit_type)
    units: list[list[int]] = []
    for t in trace:
        if t.name == "unit_type":
            units.append([])
        elif t.name.startswith("sf_group_flag") and t.name.endswith("[4]"):
            units[-1].append(t.value)
    flags = [u for u in units if u]
    # frames 1..4 change the grid, 5 and 6 too, 7 and 8 hold it, 9..11 hold it
    assert flags == [[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0]]


# --- the correction stage (8.6.2) -----------------------------------------------------------

def _layout(width: int = 64, height: int = 48, p: int = 8) -> tuple[CorrectionLayout, SequenceHeader]:
    sh = header(ids=[0, *CORRECTION_ELEMENT_IDS], precisions=[1, *[p] * 32], width=width, height=height,
                sh_profile_idc=PROFILE_COMPACT)
    return CorrectionLayout(sh), sh


def test_displacement_is_level_times_picture_size_over_2_to_the_p() -> None:
    layout, _ = _layout(64, 48, p=8)
    levels = [7] + [k - 8 for k in range(16)] + [3 * k for k in range(16)]
    grid = layout.displacement(levels)
    assert grid.shape == (4, 4, 2) and grid.dtype == np.float32
    assert np.array_equal(grid[..., 0].ravel(), np.array([(k - 8) * 64 / 256 for k in range(16)], np.float32))
    assert np.array_equal(grid[..., 1].ravel(), np.array([3 * k * 48 / 256 for k in range(16)], np.float32))
    assert not CorrectionLayout(header(ids=[0, 1], precisions=[1, 1])).present


def _bilinear_field(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """8.6.2 as written: u = Clip3( 0, 3, ( x + 0.5 ) * 4 / W - 0.5 ), the same for v, and the
    bilinear interpolation of the four cell centres around ( u, v )."""
    out = np.zeros((height, width, 2))
    for y in range(height):
        v = min(max((y + 0.5) * 4 / height - 0.5, 0.0), 3.0)
        r0 = min(int(v), 2)
        b = v - r0
        for x in range(width):
            u = min(max((x + 0.5) * 4 / width - 0.5, 0.0), 3.0)
            c0 = min(int(u), 2)
            a = u - c0
            out[y, x] = ((1 - b) * ((1 - a) * grid[r0, c0] + a * grid[r0, c0 + 1])
                         + b * ((1 - a) * grid[r0 + 1, c0] + a * grid[r0 + 1, c0 + 1]))
    return out


@pytest.mark.parametrize("size", [(64, 64), (96, 40)])
def test_dense_field_is_the_bilinear_interpolation_of_the_cell_centres(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(2)
    grid = rng.normal(0, 3, (4, 4, 2)).astype(np.float32)
    w, h = size
    f = dense_field(grid, w, h)
    assert f.shape == (h, w, 2) and f.dtype == np.float32
    assert np.max(np.abs(f - _bilinear_field(grid.astype(np.float64), w, h))) < 1e-4
    assert np.allclose(f[0, 0], grid[0, 0]) and np.allclose(f[h - 1, w - 1], grid[3, 3])


@settings(max_examples=20, deadline=None)
@given(st.integers(-4, 4), st.integers(-4, 4))
def test_a_uniform_whole_pixel_grid_moves_the_picture_exactly(dx: int, dy: int) -> None:
    rng = np.random.default_rng(1)
    pic = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    grid = np.zeros((4, 4, 2), np.float32)
    grid[..., 0], grid[..., 1] = dx, dy
    out = apply_grid(pic, grid)
    ys, xs = np.mgrid[0:48, 0:64]
    expected = pic[np.clip(ys + dy, 0, 47), np.clip(xs + dx, 0, 63)]     # edge samples replicated
    assert np.array_equal(out, expected)


def test_step_3_samples_with_the_clamped_bicubic_kernel() -> None:
    """8.6.2 step 3 (Annex H.8's kernel): a half-pixel shift of a smooth texture lands nearer
    the texture itself at the shifted positions than bilinear samples do (bilinear blurs), and
    beside a sharp edge no sample leaves the range of the samples around it (a bright square
    on a dark ground keeps its ground at 20 where the plain cubic kernel undershoots)."""
    ys, xs = np.mgrid[0:48, 0:64].astype(np.float64)

    def texture(dx: float) -> np.ndarray:
        t = 128 + 90 * np.sin(2 * np.pi * (xs + dx) / 5.0) * np.cos(2 * np.pi * ys / 7.0)
        return np.repeat(t[..., None], 3, axis=2)

    grid = np.zeros((4, 4, 2), np.float32)
    grid[..., 0] = 0.5
    pic = np.clip(np.rint(texture(0.0)), 0, 255).astype(np.uint8)
    truth = texture(0.5)[4:-4, 4:-4]
    cubic = apply_grid(pic, grid)[4:-4, 4:-4].astype(np.float64)
    bilinear = np.rint(sample(pic.astype(np.float32), dense_field(grid, 64, 48)))[4:-4, 4:-4]
    assert np.abs(cubic - truth).mean() < 0.5 * np.abs(bilinear - truth).mean()
    square = np.full((48, 64, 3), 20, np.uint8)
    square[16:32, 24:40] = 240
    out = apply_grid(square, grid)
    assert out.min() == 20 and out.max() == 240
    assert 130 in out[20, 20:44, 0]                               # the edge itself is interpolated
    gx, gy = np.meshgrid(np.arange(64, dtype=np.float32) + 0.5, np.arange(48, dtype=np.float32))
    plain = cv2.remap(square.astype(np.float32), gx, gy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    assert plain.min() < 19 and plain.max() > 241                # what the clamp removes


def test_a_zero_grid_leaves_the_picture() -> None:
    pic = np.full((16, 16, 3), 77, np.uint8)
    assert apply_grid(pic, np.zeros((4, 4, 2), np.float32)) is pic


def _decode(data: bytes, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(Decoder(**kw).decode(data))


def test_decoder_corrects_semantic_frames_only_and_not_under_edits() -> None:
    """8.6.2: each semantic frame's picture is the generator's picture resampled by its grid;
    the key frame shows its decoded picture; a frame an edit touches is not corrected. The
    generator's pictures come from the same stream with the correction levels set to 0."""
    data, sh, levels = _grid_stream(ENTROPY_CABAC, frames=9, held_from=8)
    zero = [lv[:14] + [0] * 32 for lv in levels]
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(64, 64), zero[0])
    for start in range(1, 9, 4):
        w.semantic_unit(zero[start:start + 4])
    w.end_of_sequence()
    plain = _decode(w.getvalue())
    corrected = _decode(data)
    layout = CorrectionLayout(sh)
    assert np.array_equal(corrected[0].rgb, plain[0].rgb)          # the key frame
    moved = 0
    for a, b, lv in zip(corrected[1:], plain[1:], levels[1:]):
        assert np.array_equal(a.rgb, apply_correction(b.rgb, layout, lv))
        moved += not np.array_equal(a.rgb, b.rgb)
    assert moved >= 6
    edits = EditApplier([parse_edit("head_yaw:offset=0@3-5")])
    edited = _decode(data, edits=edits)
    for k in range(1, 9):
        assert np.array_equal(edited[k].rgb, plain[k].rgb if 3 <= k <= 5 else corrected[k].rgb), k


def test_the_bitstream_editor_zeroes_the_correction_of_the_frames_it_edits() -> None:
    """8.6.1: a rewritten frame's correction elements become 0 (the grid describes the unedited
    picture); the other frames keep theirs. Decoding the rewritten stream then shows the
    decoder-side edit's pictures on the edited frames (uncorrected there, 8.6.2) and the
    corrected pictures elsewhere."""
    from ref_decoder.stream_editing import edit_stream
    data, sh, levels = _grid_stream(ENTROPY_CABAC, frames=9, held_from=8)
    text = "head_yaw:offset=4@3-5"
    rewritten, changed = edit_stream(data, EditApplier([parse_edit(text)]))
    assert changed == 3
    out = _decode(rewritten)
    for k, f in enumerate(out):
        assert (f.levels[14:] == [0] * 32) if 3 <= k <= 5 else (f.levels[14:] == levels[k][14:]), k
    edited = _decode(data, edits=EditApplier([parse_edit(text)]))
    corrected = _decode(data)
    for k in range(1, 9):
        assert np.array_equal(out[k].rgb, edited[k].rgb if 3 <= k <= 5 else corrected[k].rgb), k


def test_inferred_frames_are_corrected_by_the_levels_they_repeat() -> None:
    """Frames skipped by su_frame_idx_delta repeat the previous frame's levels (8.3.3), the
    correction elements' too, and are corrected by them (8.6.2)."""
    _, sh, levels = _grid_stream(ENTROPY_EXP_GOLOMB, frames=9, held_from=8)

    def stream(lv: list[list[int]]) -> bytes:
        w = StreamWriter(sh)
        w.keyframe(demo_keyframe(64, 64), lv[0])
        w.semantic_unit(lv[1:5])
        w.semantic_unit(lv[5:9], frame_idx_delta=2)
        w.end_of_sequence()
        return w.getvalue()
    corrected = _decode(stream(levels))
    plain = _decode(stream([lv[:14] + [0] * 32 for lv in levels]))
    layout = CorrectionLayout(sh)
    inferred = [k for k, f in enumerate(corrected) if f.kind == "inferred"]
    assert inferred == [5, 6]
    for k in inferred:
        assert corrected[k].levels == levels[4]
        assert np.array_equal(corrected[k].rgb, apply_correction(plain[k].rgb, layout, levels[4]))
        assert not np.array_equal(corrected[k].rgb, plain[k].rgb)


# --- the encoder's choice ------------------------------------------------------------------

def _texture(h: int = 128, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 2.0)
    return np.clip((noise - noise.mean()) * 4 + 128, 0, 255).astype(np.uint8)


def test_resolve_correction() -> None:
    assert resolve_correction("auto", 32) and not resolve_correction("auto", 37)
    assert resolve_correction("on", 52) and resolve_correction(True, 52) and not resolve_correction("off", 22)
    with pytest.raises(ValueError, match="use off, on or auto"):
        resolve_correction("sometimes", 32)


def test_se_bits_and_lambda() -> None:
    assert [se_bits(v) for v in (0, 1, -1, 2, -2, 3)] == [1, 3, 3, 5, 5, 5]
    assert vvc_lambda(32) == pytest.approx(0.57 * 2 ** (20 / 3))


def _chooser(width: int = 128, height: int = 128, qp: int = 32) -> tuple[CorrectionChooser, SequenceHeader]:
    sh = header(ids=[0, *CORRECTION_ELEMENT_IDS], precisions=[1, *CORR_P], width=width, height=height,
                sh_profile_idc=PROFILE_COMPACT)
    return CorrectionChooser(sh, qp), sh


def test_chooser_finds_a_shift_and_the_correction_undoes_it() -> None:
    """The drawn picture is the source moved 3 pixels left (drawn(x) = source(x + 3)): the
    source is drawn(x - 3), so corr_dx is -3 pixels (level -6 at 128 wide, precision 8) in every
    cell, corr_dy 0, and the corrected picture is the source away from the edges."""
    chooser, _ = _chooser()
    src = _texture()
    drawn = np.concatenate([src[:, 3:], src[:, -1:].repeat(3, 1)], axis=1)
    levels = chooser.choose(src, drawn, [5] + [0] * 32, [5] + [0] * 32)
    assert levels[0] == 5
    assert levels[1:17] == [-6] * 16 and levels[17:] == [0] * 16
    out = apply_correction(drawn, chooser.layout, levels)
    assert np.array_equal(out[:, 8:-8], src[:, 8:-8])
    assert chooser.coded == 1


def test_chooser_holds_when_nothing_is_off_or_the_gain_does_not_pay() -> None:
    chooser, _ = _chooser()
    src = _texture()
    assert chooser.choose(src, src, [4] * 33, [0] * 33) == [4] + [0] * 32      # nothing to correct
    # a previous grid that is off (half a pixel) is replaced by the zero grid: that pays
    previous = [0] + [1] * 16 + [0] * 16
    assert chooser.choose(src, src, [0] * 33, previous) == [0] * 33
    # a shift that pays at a small lambda does not at a huge one
    drawn = np.concatenate([src[:, 1:], src[:, -1:]], axis=1)
    chooser.lam = 1e12
    assert chooser.choose(src, drawn, [0] * 33, [0] * 33) == [0] * 33
    chooser.lam = vvc_lambda(32)
    assert chooser.choose(src, drawn, [0] * 33, [0] * 33)[1:17] == [-2] * 16


def _field_basis(h: int, w: int) -> np.ndarray:
    """(h * w) x 16: the field of 8.6.2 (dense_field) of each unit grid, the cell-centre bases."""
    units = np.eye(16, dtype=np.float32).reshape(16, 4, 4, 1).repeat(2, axis=3)
    return np.stack([dense_field(u, w, h)[..., 0].reshape(-1) for u in units], 1).astype(np.float64)


def test_the_fits_separable_sums_are_the_fields_least_squares_matrix() -> None:
    """The fit's normal matrix, summed through the per-axis weights, is B^T diag(weight) B for
    the bases B of the decoder's own field (dense_field), on a picture that is not square."""
    h, w = 40, 56
    basis = _field_basis(h, w)
    assert np.allclose(np.einsum("yb,xa->yxba", axis_weights(h), axis_weights(w)).reshape(h * w, 16), basis,
                       atol=1e-6)
    weight = np.random.default_rng(5).random((h, w))
    assert np.allclose(normal_block(weight),
                       basis.T @ (basis * weight.reshape(-1, 1)), atol=1e-5)


@pytest.mark.parametrize("scale", [1, 2])
def test_the_fit_finds_a_grid_that_moves_each_cell_differently(scale: int) -> None:
    """The source is the drawn texture resampled by a known grid (cells moved by up to 2.5
    pixels, each differently): from a zero start the fit finds that grid to a third of a pixel,
    which the flow's cell means miss, and its corrected picture is the source to within a level
    or two."""
    drawn = _texture(128, 128)
    k = np.arange(16, dtype=np.float32)
    truth = np.stack([2.5 * np.sin(0.9 * k), 2.0 * np.cos(1.3 * k)], 1).reshape(4, 4, 2).astype(np.float32)
    src = apply_grid(drawn, truth)
    found = fit_grid(src, drawn, np.zeros((4, 4, 2), np.float32), steps=5, scale=scale)
    assert np.abs(found - truth).max() < 1 / 3
    assert np.abs(pooled_flow(dense_field(truth, 128, 128)) - truth).max() > 0.5
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(apply_grid(drawn, found)[inner].astype(int) - src[inner]).mean() < 2.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), start=st.floats(-6.0, 6.0), steps=st.integers(1, 4))
def test_the_fit_never_leaves_a_larger_error_than_its_start(seed: int, start: float, steps: int) -> None:
    """A Gauss-Newton step that does not lower the squared error is undone: on textures that
    the linearisation fits badly (noise, starts up to 6 pixels off) the fitted grid's error is
    never above the start's."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (48, 48, 3)).astype(np.uint8)
    drawn = np.roll(src, int(rng.integers(-3, 4)), axis=1)
    begin = np.full((4, 4, 2), start, np.float32)
    begin[..., 1] *= -0.5

    def error(grid: np.ndarray) -> float:
        out = sample(drawn.astype(np.float32), dense_field(grid, 48, 48))
        return float(np.square(out - src.astype(np.float32)).sum(dtype=np.float64))

    assert error(fit_grid(src, drawn, begin, steps=steps, scale=1)) <= error(begin)


def test_the_correction_elements_precision_can_be_set() -> None:
    """--precision corr_dx_k=P (Table 3e: up to 12) sets the element's precision when the grid is
    on; without the grid it is refused as an element not in the set (it was refused as unknown)."""
    cfg = EncoderConfig(keyframe_codec="raw", correction_grid="on", precisions={"corr_dx_0": 9, "corr_dy_15": 10})
    enc = Encoder(cfg, 64, 64, Fraction(25))
    p = dict(zip(enc.element_ids, enc.precisions))
    assert p[CORRECTION_ELEMENT_IDS[0]] == 9 and p[CORRECTION_ELEMENT_IDS[-1]] == 10
    assert p[CORRECTION_ELEMENT_IDS[1]] == 8
    with pytest.raises(ValueError, match="not in the element set: corr_dx_0"):
        Encoder(replace(cfg, correction_grid="off", precisions={"corr_dx_0": 9}), 64, 64, Fraction(25))
    with pytest.raises(ValueError, match="unknown semantic element"):
        Encoder(replace(cfg, precisions={"corr_dz_0": 9}), 64, 64, Fraction(25))


def test_encoder_signals_the_grid_only_in_the_compact_profile() -> None:
    cfg = EncoderConfig(keyframe_codec="raw", correction_grid="on")
    assert Encoder(cfg, 64, 64, Fraction(25)).element_ids[-32:] == list(CORRECTION_ELEMENT_IDS)
    assert not set(CORRECTION_ELEMENT_IDS) & set(Encoder(EncoderConfig(keyframe_codec="raw", keyframe_qp=42,
                                                                       correction_grid="auto"),
                                                         64, 64, Fraction(25)).element_ids)
    with pytest.raises(ValueError, match="need the Compact profile"):
        Encoder(replace(cfg, profile_idc=PROFILE_MAIN), 64, 64, Fraction(25))
    # a generator this encoder cannot run: auto leaves the grid off, on refuses before coding
    own = dict(generator_name="my-generator", generator_sha256=bytes(range(32)), keyframe_qp=32)
    auto = Encoder(replace(cfg, correction_grid="auto", **own), 64, 64, Fraction(25))
    assert not set(CORRECTION_ELEMENT_IDS) & set(auto.element_ids)
    with pytest.raises(ValueError, match="needs a generator this encoder can run"):
        Encoder(replace(cfg, **own), 64, 64, Fraction(25))


def test_cli_refuses_the_grid_in_the_main_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli_hardening import _error_lines, _run
    src = tmp_path / "in.rgb"
    src.write_bytes(bytes(3 * 64 * 64 * 2))
    out = tmp_path / "out.ifvc"
    r = _run("-m", "ref_encoder.cli", src, "--width", "64", "--height", "64", "--correction-grid", "on",
             "--profile", "main", "-o", out)
    lines = _error_lines(r)
    assert r.returncode != 0 and len(lines) == 1 and "Compact profile" in lines[0], r.stderr
    assert not out.exists()


def test_real_clip_the_grid_brings_the_pictures_closer_to_the_source(shared_data) -> None:  # type: ignore[no-untyped-def]
    """liveportrait_driving_d10, 16 frames, raw key frame: with the grid the semantic frames are
    closer to the source (mean PSNR-RGB), the stream decodes with matching hashes, and the
    decoded grid levels are the encoder's."""
    from conformance.streams_vvc import _clip_frames
    frames = _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d10.mp4", 16)

    def run(grid: str) -> tuple[list, list]:
        enc = Encoder(EncoderConfig(keyframe_codec="raw", keyframe_qp=32, correction_grid=grid), 256, 256, Fraction(25))
        result = enc.encode(frames)
        dec = Decoder()
        out = list(dec.decode(result.stream))
        assert dec.hashes.ok and dec.hashes.semantics_checked
        assert [f.levels for f in out] == [log.levels for log in result.frames]
        return out, result.frames

    def psnr(out: list) -> float:
        mse = [np.mean((f.rgb.astype(np.float64) - frames[f.frame_idx]) ** 2) for f in out if f.kind != "key"]
        return float(np.mean([10 * np.log10(255 ** 2 / m) for m in mse]))

    plain, _ = run("off")
    corrected, logs = run("on")
    assert any(any(log.levels[-32:]) for log in logs)
    assert psnr(corrected) > psnr(plain) + 0.3
