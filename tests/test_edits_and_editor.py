"""Decoder-side edits (text form, semantics) and the bitstream editor."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitstream.head_location import head_loc_cell, move_to_cell
from bitstream.semantic_elements import ELEMENT_BY_NAME, SEMANTIC_ELEMENTS
from bitstream.stream import (ParsedHash, ParsedKeyframe, ParsedSemanticUnit, ParsedSequenceHeader,
                              StreamParser, StreamWriter)
from bitstream.units import frame_unit, iter_units
from conformance.synthetic_semantics import baseline_header, code_trajectories, demo_keyframe, synthetic_trajectories
from ref_decoder import cli as decode_cli
from ref_decoder.decoder import Decoder
from ref_decoder.edits import Edit, EditApplier, EditError, parse_edit
from ref_encoder.analysis import FaceAnalyzer
from ref_decoder.stream_editing import edit_stream
from tools.bitstream_editor import main as editor_main

YAW = [e.name for e in SEMANTIC_ELEMENTS].index("head_yaw")


@pytest.mark.parametrize("text,edit", [
    ("head_yaw:offset=15@10-60", Edit("head_yaw", "offset", 15.0, 10, 60)),
    ("eye_blink_left:set=0@30", Edit("eye_blink_left", "set", 0.0, 30, 30)),
    ("mouth_open:scale=2@5-", Edit("mouth_open", "scale", 2.0, 5, None)),
    ("head_roll:hold@40-80", Edit("head_roll", "hold", 0.0, 40, 80)),
    ("head_tx:offset=-0.05@0-3", Edit("head_tx", "offset", -0.05, 0, 3)),
    ("head_loc:set=0", Edit("head_loc", "set", 0.0, 0, None)), ("head_roll:hold", Edit("head_roll", "hold", 0.0, 0, None)),
])
def test_parse_edit(text: str, edit: Edit) -> None:
    assert parse_edit(text) == edit


@pytest.mark.parametrize("text,message", [
    ("nose:set=1@0", "unknown semantic element"), ("head_yaw:twist=1@0", "unknown edit operation"),
    ("head_yaw:set@0", "need one"), ("head_yaw:hold=3@0", "takes no value"),
    ("head_yaw:set=1@9-3", "bad frame range"), ("head_yaw=1", "cannot read edit"),
])
def test_bad_edits_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        parse_edit(text)


def test_apply_edits_set_offset_scale_hold_and_clip() -> None:
    warned: list[str] = []
    app = EditApplier([parse_edit("head_yaw:offset=15@2-3"), parse_edit("mouth_open:scale=2@0-"),
                       parse_edit("head_roll:hold@1-2"), parse_edit("eye_blink_left:set=5@0")],
                      warn=warned.append)
    base = np.zeros(14)
    base[ELEMENT_BY_NAME["mouth_open"].element_id] = 0.2
    outs = []
    for idx, roll in enumerate([1.0, 2.0, 3.0, 4.0]):
        v = base.copy()
        v[ELEMENT_BY_NAME["head_roll"].element_id] = roll
        outs.append(app.apply(idx, v))
    assert len(warned) == 1 and "eye_blink_left 5 in frame 0 clamped to 2" in warned[0] and "0..2" in warned[0]
    assert [o[YAW] for o in outs] == [0.0, 0.0, 15.0, 15.0]
    assert [o[ELEMENT_BY_NAME["head_roll"].element_id] for o in outs] == [1.0, 2.0, 2.0, 4.0]
    assert all(o[ELEMENT_BY_NAME["mouth_open"].element_id] == pytest.approx(0.4) for o in outs)
    assert outs[0][ELEMENT_BY_NAME["eye_blink_left"].element_id] == 2.0   # clipped to the range


@pytest.mark.parametrize("mode", [0, 1])
def test_editor_rewrites_semantics_only(mode: int) -> None:
    data, _, _ = code_trajectories(synthetic_trajectories(60, seed=3), mode, 8)
    out, changed = edit_stream(data, EditApplier([parse_edit("head_yaw:offset=10@20-29")]))
    assert changed == 10
    before = list(StreamParser().parse(data))
    after = list(StreamParser().parse(out))
    kb = [u for u in before if isinstance(u, ParsedKeyframe)]
    ka = [u for u in after if isinstance(u, ParsedKeyframe)]
    assert [u.kf.kf_picture_payload for u in kb] == [u.kf.kf_picture_payload for u in ka]
    fb = {f.frame_idx: f.levels for u in before if isinstance(u, ParsedSemanticUnit) for f in u.frames}
    fa = {f.frame_idx: f.levels for u in after if isinstance(u, ParsedSemanticUnit) for f in u.frames}
    assert fb.keys() == fa.keys()
    for idx in fb:
        diff = [a - b for a, b in zip(fa[idx], fb[idx])]
        step = 10 << SEMANTIC_ELEMENTS[YAW].default_precision      # 10 degrees in levels
        expected = [step if (i == YAW and 20 <= idx <= 29) else 0 for i in range(14)]
        assert diff == expected, idx
    assert all(c.matches is not False for u in after if isinstance(u, ParsedHash) for c in u.checks)


def test_editor_cli_errors(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = editor_main([str(tmp_path / "missing.ifvc"), "-o", str(tmp_path / "x.ifvc"), "--edit", "head_yaw:set=1@0"])
    assert rc == 1 and "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.ifvc"
    bad.write_bytes(b"\x00\x05garbage")
    assert editor_main([str(bad), "-o", str(tmp_path / "y.ifvc"), "--edit", "head_yaw:set=1@0"]) == 1
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "y.ifvc").exists()


# -- edits the user would otherwise not notice: clamps, frame ranges, head_loc ------------------
TX, TY, LOC = (ELEMENT_BY_NAME[n].element_id for n in ("head_tx", "head_ty", "head_loc"))
FACE_STREAM = Path(__file__).resolve().parents[1] / "conformance" / "streams" / "face_real_cabac.ifvc"


@pytest.mark.parametrize("text,message", [
    ("head_loc:offset=1@0", "takes only set=CELL or hold"), ("head_loc:scale=2@0-", "takes only set=CELL or hold"),
    ("head_loc:set=16@0", "integers 0..15"), ("head_loc:set=2.5@0", "integers 0..15"),
    ("head_yaw:offset=1e999@0", "finite"), ("head_yaw:set=--1@0", "not a number"),
])
def test_edits_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        parse_edit(text)


def test_clamp_is_reported_once_per_edit() -> None:
    warned: list[str] = []
    app = EditApplier([parse_edit("head_yaw:offset=500@0-"), parse_edit("mouth_open:scale=-3@0-")], warn=warned.append)
    values = np.zeros(14)
    values[ELEMENT_BY_NAME["mouth_open"].element_id] = 0.25
    for idx in range(5):
        out = app.apply(idx, values)
        assert out[YAW] == 90.0 and out[ELEMENT_BY_NAME["mouth_open"].element_id] == 0.0
    assert len(warned) == 2
    assert "head_yaw 500 in frame 0 clamped to 90" in warned[0] and "-90..90 (degree)" in warned[0]
    assert "mouth_open -0.75 in frame 0 clamped to 0" in warned[1] and "0..2" in warned[1]


def test_stream_length_known_outside_is_an_error_partial_a_warning() -> None:
    warned: list[str] = []
    app = EditApplier([parse_edit("head_yaw:set=1@40-60")], warn=warned.append)
    app.check_stream_length(50)
    assert warned == ["edit head_yaw:set=1@40-60: frames 50-60 not in the stream (the stream has 50 frames, "
                      "numbered 0-49); applied to frames 40-49 only"]
    app.finish(50)
    assert len(warned) == 1                                   # checked once
    with pytest.raises(EditError, match=r"head_yaw:offset=3@500-600 covers no frame: the stream has 50 frames"):
        EditApplier([parse_edit("head_yaw:offset=3@500-600")]).check_stream_length(50)
    with pytest.raises(EditError, match="covers no frame"):
        EditApplier([parse_edit("head_yaw:offset=3@50-")]).check_stream_length(50)
    EditApplier([parse_edit("head_yaw:offset=3@49-")], warn=warned.append).check_stream_length(50)
    assert len(warned) == 1                                   # open-ended ranges never overhang


def test_live_stream_edits_outside_are_warned_at_the_end() -> None:
    warned: list[str] = []
    app = EditApplier([parse_edit("head_yaw:set=1@500-600"), parse_edit("head_roll:set=1@0-10")], warn=warned.append)
    app.finish(8)
    assert warned == ["edit head_yaw:set=1@500-600 covers no frame: the stream has 8 frames, numbered 0-7; "
                      "it changed nothing",
                      "edit head_roll:set=1@0-10: frames 8-10 not in the stream (the stream has 8 frames, "
                      "numbered 0-7); applied to frames 0-7 only"]


dyadic = st.integers(-128, 128).map(lambda n: n / 128)       # head_tx / head_ty at precision 7


@given(tx=dyadic, ty=dyadic, cell=st.integers(0, 15))
def test_move_to_cell_lands_in_the_cell_and_keeps_the_motion_inside_it(tx: float, ty: float, cell: int) -> None:
    ntx, nty = move_to_cell(tx, ty, cell)
    assert head_loc_cell(ntx, nty) == cell
    assert -0.5 <= ntx < 0.5 and -0.5 <= nty < 0.5
    for before, after in ((tx, ntx), (ty, nty)):
        if -0.5 <= before < 0.5:                      # inside the grid: shifted by whole cells
            assert (after - before) * 4 == round((after - before) * 4)
        else:                                         # outside: the centre line of the cell
            assert (after * 8) % 2 == 1
    if -0.5 <= tx < 0.5 and -0.5 <= ty < 0.5:
        assert move_to_cell(tx, ty, head_loc_cell(tx, ty)) == (tx, ty)


def test_head_loc_edit_moves_the_translation_and_stays_consistent() -> None:
    app = EditApplier([parse_edit("head_loc:set=0@0-1"), parse_edit("head_loc:hold@2-3"),
                       parse_edit("head_tx:offset=0.25@4")])
    path = [(0.05, -0.01), (0.07, -0.01), (0.07, 0.2), (0.3, 0.2), (0.1, 0.0)]
    outs = []
    for idx, (tx, ty) in enumerate(path):
        v = np.zeros(14)
        v[TX], v[TY], v[LOC] = tx, ty, 7.0          # a stale head_loc: the translation wins
        outs.append(app.apply(idx, v))
    assert [(o[TX], o[TY], o[LOC]) for o in outs[:2]] == [(0.05 - 0.5, -0.01 - 0.25, 0.0),
                                                          (0.07 - 0.5, -0.01 - 0.25, 0.0)]
    assert outs[2][LOC] == outs[3][LOC] == 10.0            # held in the cell of frame 2 (row 2, col 2)
    assert outs[3][TX] == pytest.approx(0.3 - 0.25)        # moved back one column, motion kept
    assert outs[4][TX] == pytest.approx(0.35) and outs[4][LOC] == 11.0   # head_loc follows head_tx


def _live(data: bytes) -> bytes:
    """The same stream with sh_num_frames 0 (its length unknown up front, as when live)."""
    sh = next(u.sh for u in StreamParser().parse(data) if isinstance(u, ParsedSequenceHeader))
    units = list(iter_units(data))
    return StreamWriter(dataclasses.replace(sh, sh_num_frames=0)).getvalue() + b"".join(
        frame_unit(u.unit_type, u.payload) for u in units[1:])


def test_decoder_cli_refuses_or_warns_edits_outside_the_stream(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o.rgb"
    assert decode_cli.main([str(FACE_STREAM), "-o", str(out), "--quiet", "--edit", "head_yaw:offset=10@500-600"]) == 1
    assert "edit head_yaw:offset=10@500-600 covers no frame: the stream has 16 frames" in capsys.readouterr().err
    assert not out.exists()
    live = tmp_path / "live.ifvc"
    live.write_bytes(_live(FACE_STREAM.read_bytes()))
    assert decode_cli.main([str(live), "-o", str(out), "--quiet", "--edit", "head_yaw:offset=10@500-600",
                            "--edit", "head_yaw:offset=10@10-20"]) == 0
    err = capsys.readouterr().err
    assert "warning: edit head_yaw:offset=10@500-600 covers no frame: the stream has 16 frames" in err
    assert "warning: edit head_yaw:offset=10@10-20: frames 16-20 not in the stream" in err
    assert out.stat().st_size == 16 * 3 * 256 * 256


def test_editor_refuses_edits_outside_the_stream_and_moves_head_loc(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "e.ifvc"
    assert editor_main([str(FACE_STREAM), "-o", str(out), "--edit", "head_yaw:set=1@500-600"]) == 1
    assert "covers no frame" in capsys.readouterr().err and not out.exists()
    for data in (FACE_STREAM.read_bytes(), _live(FACE_STREAM.read_bytes())):
        with pytest.raises(EditError, match="covers no frame"):
            edit_stream(data, EditApplier([parse_edit("head_yaw:set=1@16-")]))
    warned: list[str] = []
    edited, changed = edit_stream(FACE_STREAM.read_bytes(), EditApplier([parse_edit("head_loc:set=5@0-")], warn=warned.append))
    assert not warned and changed > 0
    before, after = _frame_levels(FACE_STREAM.read_bytes()), _frame_levels(edited)
    sh = next(u.sh for u in StreamParser().parse(edited) if isinstance(u, ParsedSequenceHeader))
    i_tx, i_ty = (sh.sh_sem_element_id.index(e) for e in (TX, TY))
    p_tx, p_ty = sh.sh_sem_precision[i_tx], sh.sh_sem_precision[i_ty]
    i_loc = sh.sh_sem_element_id.index(LOC) if LOC in sh.sh_sem_element_id else None  # not in the default set
    for idx, (kind, lv) in after.items():
        cell = head_loc_cell(lv[i_tx] / (1 << p_tx), lv[i_ty] / (1 << p_ty))
        if kind == "semantic":      # every coded frame now in cell 5, head_loc consistent
            assert cell == 5 and (i_loc is None or lv[i_loc] == 5)
            assert (lv[i_tx] - before[idx][1][i_tx]) % (1 << p_tx >> 2) == 0    # whole cells
        else:
            assert lv == before[idx][1]


def _frame_levels(data: bytes) -> dict[int, tuple[str, list[int]]]:
    out: dict[int, tuple[str, list[int]]] = {}
    for u in StreamParser().parse(data):
        if isinstance(u, ParsedKeyframe):
            out[u.frame_idx] = ("key", u.levels)
        elif isinstance(u, ParsedSemanticUnit):
            out.update({f.frame_idx: ("inferred" if f.inferred else "semantic", f.levels) for f in u.frames})
    return out


def test_editor_needs_the_translation_for_head_loc() -> None:
    sh = dataclasses.replace(baseline_header(1, 3), sh_sem_element_id=[0, 6], sh_sem_precision=[1, 0])
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), [0, 6])
    w.semantic_unit([[2, 6], [4, 6]])
    w.end_of_sequence()
    data = w.getvalue()
    with pytest.raises(EditError, match="does not signal head_tx, head_ty"):
        edit_stream(data, EditApplier([parse_edit("head_loc:set=5@0-")]))


def test_decoded_head_moves_to_the_edited_cell() -> None:
    """head_loc:set moves the synthesised head exactly as the equivalent head_tx / head_ty
    edit does, and the face re-analysed in the output sits in the target cell."""
    data = FACE_STREAM.read_bytes()
    plain = {f.frame_idx: f for f in Decoder().decode(data)}
    moved = {f.frame_idx: f for f in Decoder(edits=EditApplier([parse_edit("head_loc:set=5@0-")])).decode(data)}
    # frame 3's face is in cell 6 (row 1, column 2): cell 5 is one column to the left
    assert plain[3].values[LOC] == 6 and moved[3].values[LOC] == 5
    assert moved[3].values[TX] == plain[3].values[TX] - 0.25 and moved[3].values[TY] == plain[3].values[TY]
    same = {f.frame_idx: f for f in Decoder(edits=EditApplier([parse_edit("head_tx:offset=-0.25@3")])).decode(data)}
    assert np.array_equal(same[3].rgb, moved[3].rgb)
    assert not np.array_equal(plain[3].rgb, moved[3].rgb)
    with FaceAnalyzer(tracking=False) as analyzer:
        seen = [analyzer.analyze_frame(f.rgb).semantics for f in (plain[3], moved[3])]
    assert seen[0][LOC] == 6 and seen[1][LOC] == 5
    assert seen[1][TX] - seen[0][TX] == pytest.approx(-0.25, abs=0.03)
    assert seen[1][TY] == pytest.approx(seen[0][TY], abs=0.03)
