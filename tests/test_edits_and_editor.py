"""Decoder-side edits (text form, semantics) and the bitstream editor."""
from __future__ import annotations

import numpy as np
import pytest

from bitstream.semantic_elements import ELEMENT_BY_NAME, SEMANTIC_ELEMENTS
from bitstream.stream import ParsedHash, ParsedKeyframe, ParsedSemanticUnit, StreamParser
from ref_decoder.edits import Edit, EditApplier, EditError, parse_edit
from tools.bitstream_editor import edit_stream, main as editor_main
from tools.semantic_stream_demo import code_trajectories
from tools.synthetic_semantics import synthetic_trajectories

YAW = [e.name for e in SEMANTIC_ELEMENTS].index("head_yaw")


@pytest.mark.parametrize("text,edit", [
    ("head_yaw:offset=15@10-60", Edit("head_yaw", "offset", 15.0, 10, 60)),
    ("eye_blink_left:set=0@30", Edit("eye_blink_left", "set", 0.0, 30, 30)),
    ("mouth_open:scale=2@5-", Edit("mouth_open", "scale", 2.0, 5, None)),
    ("head_roll:hold@40-80", Edit("head_roll", "hold", 0.0, 40, 80)),
    ("head_tx:offset=-0.05@0-3", Edit("head_tx", "offset", -0.05, 0, 3)),
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
    app = EditApplier([parse_edit("head_yaw:offset=15@2-3"), parse_edit("mouth_open:scale=2@0-"),
                       parse_edit("head_roll:hold@1-2"), parse_edit("eye_blink_left:set=5@0")])
    base = np.zeros(14)
    base[ELEMENT_BY_NAME["mouth_open"].element_id] = 0.2
    outs = []
    for idx, roll in enumerate([1.0, 2.0, 3.0, 4.0]):
        v = base.copy()
        v[ELEMENT_BY_NAME["head_roll"].element_id] = roll
        outs.append(app.apply(idx, v))
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
