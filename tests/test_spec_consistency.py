"""The spec text and the code must say the same thing, table by table and element by
element: these tests parse spec/ifvc_spec.md and compare it with the bitstream package."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bitstream.cabac_contexts import DEFAULT_ELEMENT_INIT, ELEMENT_CTX_INIT, SKIP_CTX_INIT
from bitstream.profiles import LEVELS
from bitstream.semantic_elements import FACE_ELEMENTS, SEMANTIC_ELEMENTS
from bitstream.stream import StreamParser, StreamWriter
from bitstream.generator_registry import DEFAULT_GENERATOR_NAME, GENERATOR_BY_NAME
from bitstream.profiles import PROFILE_COMPACT
from bitstream.semantic_elements import DEFAULT_BACKGROUND_ELEMENT_IDS, DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID
from bitstream.structures import (CSH_FRAME_RATES, CSH_PIC_SIZES, KEYFRAME_CODEC_RAW, SequenceHeader,
                                  raw_picture_size, with_explicit_init)
from bitstream.trace import TraceEntry

SPEC = Path(__file__).resolve().parents[1] / "spec" / "ifvc_spec.md"
# The unit header is coded (and traced) by code_unit_header like every structure; leb128( )
# is traced as one unit_payload_size entry, not per leb128_byte, and the test stream below
# holds no reserved unit (unit_reserved_byte).
FRAMING_ELEMENTS = {"leb128_byte", "unit_reserved_byte"}


def _spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


def _table_after(caption: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table after a caption line."""
    lines = _spec_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the heading row


def _syntax_table_names() -> set[str]:
    names: set[str] = set()
    for block in re.findall(r"```\n(.*?)```", _spec_text(), flags=re.S):
        for line in block.splitlines():
            m = re.match(r"\s+([a-z][a-z0-9_]+)(\[.*?\])*\s.*\s(u\(\d+\)|f\(\d+\)|ue\(v\)|se\(v\)|"
                         r"ae\(v\)|b\(8\)|leb128\( \))\s*$", line)
            if m:
                names.add(m.group(1))
    return names


def test_table3_semantic_elements_match_code() -> None:
    rows = _table_after("Table 3 ")
    assert len(rows) == len(SEMANTIC_ELEMENTS)
    for row, el in zip(rows, SEMANTIC_ELEMENTS):
        assert row[:8] == [str(el.element_id), el.name, el.unit, str(el.min_value),
                           str(el.max_value), str(el.default_precision), str(el.max_precision),
                           str(el.neutral_value)], el.name
        assert row[8] == el.description


def test_table3e_correction_elements_match_code() -> None:
    """Table 3e's two rows (corr_dx_k, ids 16 + k; corr_dy_k, ids 32 + k) against the code's 32
    elements, and Table 3d's correction group."""
    from bitstream.semantic_elements import CORRECTION_ELEMENTS
    from bitstream.semantic_groups import GROUP_CORRECTION, element_group
    rows = _table_after("Table 3e ")
    assert len(rows) == 2
    for row, axis, first in zip(rows, ("dx", "dy"), (16, 32)):
        assert row[0] == f"{first} + k, k = 0..15" and row[1] == f"corr_{axis}_k"
        elements = [e for e in CORRECTION_ELEMENTS if e.name.startswith(f"corr_{axis}_")]
        assert [e.element_id for e in elements] == list(range(first, first + 16))
        assert [e.name for e in elements] == [f"corr_{axis}_{k}" for k in range(16)]
        for e in elements:
            assert row[2:8] == [e.unit, str(e.min_value), str(e.max_value), str(e.default_precision),
                                str(e.max_precision), str(e.neutral_value)], e.name
            assert element_group(e.element_id) == GROUP_CORRECTION
    groups = {r[1]: r[0] for r in _table_after("Table 3d ")}
    assert groups["correction"] == str(GROUP_CORRECTION)


def test_context_init_tables_match_code() -> None:
    skip_rows = _table_after("Table 9 ")
    assert [(int(r[1]), int(r[2])) for r in skip_rows] == list(SKIP_CTX_INIT)
    rows = _table_after("Table 10 ")
    for init in [DEFAULT_ELEMENT_INIT, *ELEMENT_CTX_INIT.values()]:
        assert [int(r[3]) for r in rows] == list(init.init_values)
        assert [int(r[4]) for r in rows] == list(init.shift_idx)
    rice = _table_after("Table 11 ")
    assert int(rice[0][1]) == DEFAULT_ELEMENT_INIT.rice_stat_init
    assert all(v.rice_stat_init == DEFAULT_ELEMENT_INIT.rice_stat_init for v in ELEMENT_CTX_INIT.values())


def test_level_table_matches_code() -> None:
    rows = _table_after("Table A.1 ")
    assert len(rows) == len(LEVELS)
    for row in rows:
        limits = LEVELS[int(row[0])]
        assert (int(row[2]), float(row[3]), int(row[4]), int(row[5]), int(row[6]), int(row[7]),
                int(row[8]), int(row[9]), int(row[10])) == (
            limits.max_pic_size, limits.max_frame_rate, limits.max_frames_per_unit,
            limits.max_picture_payload, limits.max_geometry_payload, limits.max_frame_idx_delta,
            limits.max_hash_span, limits.max_inferred_per_byte, limits.max_ref_frames)
        # a hash unit after every unit must always be possible (spec Annex A)
        assert limits.max_hash_span > limits.max_frame_idx_delta + limits.max_frames_per_unit


def _traced_names(entropy_mode: int, extended: bool = False, compact: str = "") -> set[str]:
    """Elements traced when coding and parsing a small stream; extended: with extension data in
    the sequence header, the key-frame unit and (sh_su_extension_flag 1) the semantic units;
    compact: the Compact profile (with "explicit": sh_sem_temporal_flag 1) (semantic-unit syntax 2, spec 7.3.5a, with a last unit whose
    only change is the last element of a group: sem_res_nz, inferred sem_res_sig_flag), with the
    full sequence header ("full") or a compact one (spec 7.3.8) with every value by its default
    flag or index ("default") or coded explicitly ("explicit"); "": the Main profile."""
    # a named default set in the compact header (7.4.7): with the background elements ("default")
    # or at other precisions ("explicit"); otherwise the 14 face elements as a list
    ids = list({"default": DEFAULT_BACKGROUND_ELEMENT_IDS, "explicit": DEFAULT_ELEMENT_IDS}.get(
        compact, [e.element_id for e in FACE_ELEMENTS]))
    ext = b"\x5a\x00" if extended else b""
    sh = SequenceHeader(sh_entropy_coding_mode=entropy_mode, sh_keyframe_codec_id=KEYFRAME_CODEC_RAW,
                        sh_num_frames=8 if compact else 7, sh_sem_element_id=ids,
                        sh_sem_precision=[ELEMENT_BY_ID[i].default_precision for i in ids],
                        sh_generator_name="g", sh_su_extension_flag=int(extended),
                        sh_extension_data=ext)
    if compact:
        sh.sh_profile_idc = PROFILE_COMPACT
    if compact in ("default", "explicit"):
        sh.compact_form = 1
        if compact == "default":
            sh.sh_pic_width = sh.sh_pic_height = 256
            sh.sh_generator_name = DEFAULT_GENERATOR_NAME
            sh.sh_generator_sha256 = GENERATOR_BY_NAME[DEFAULT_GENERATOR_NAME].weights_sha256
        else:   # the default set at other precisions
            sh.sh_sem_precision = [min(p + 1, ELEMENT_BY_ID[i].max_precision) for p, i in zip(sh.sh_sem_precision, ids)]
            sh.sh_chroma_format_idc, sh.sh_frame_rate_num = 1, 15
            sh.sh_sem_temporal_flag = 1     # every SemPeriod 1: the levels below stay codable
    if entropy_mode == 1 and compact != "default":
        with_explicit_init(sh)
    w = StreamWriter(sh)
    base = [max(0, lo) for lo, _ in (sh.level_bounds(i) for i in range(len(ids)))]
    w.keyframe(bytes(raw_picture_size(sh)), base, geometry_payload=b"\x01\x02", extension_data=ext)
    w.semantic_unit([[b + 9 for b in base], [b + 9 for b in base]],  # |res| > 2, then a skip
                    extension_data=ext)
    w.semantic_unit([[b + 8 for b in base]], frame_idx_delta=2)
    w.hash_unit(keyframe_md5={0: bytes(16)})
    w.semantic_unit([[b + 7 for b in base]])
    if compact:
        w.semantic_unit([[b + 7 + (i == len(base) - 1) for i, b in enumerate(base)]])
    w.end_of_sequence()
    trace: list[TraceEntry] = []
    list(StreamParser(trace=trace).parse(w.getvalue()))
    return {t.name.split("[")[0] for t in trace}


@pytest.mark.parametrize("compact", ["", "full", "default", "explicit"])
@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("mode", [0, 1])
def test_every_traced_element_is_in_the_syntax_tables(mode: int, extended: bool, compact: str) -> None:
    missing = _traced_names(mode, extended, compact) - _syntax_table_names()
    assert not missing, f"elements coded but not in spec syntax tables: {sorted(missing)}"


def test_every_spec_element_is_coded() -> None:
    coded = (_traced_names(0) | _traced_names(1) | _traced_names(0, True) | _traced_names(1, True)
             | _traced_names(0, compact="full") | _traced_names(1, compact="full")
             | _traced_names(1, compact="default") | _traced_names(1, compact="explicit")
             | _traced_names(0, compact="explicit") | FRAMING_ELEMENTS)
    missing = _syntax_table_names() - coded
    assert not missing, f"spec syntax elements never coded: {sorted(missing)}"


def test_compact_header_tables_match_code() -> None:
    """Tables 3b and 3c, and the default element set of 7.4.7, against bitstream.structures."""
    sizes = {int(r[0]): (int(r[1]), int(r[2])) for r in _table_after("Table 3b ") if r[1] != "present"}
    rates = {int(r[0]): (int(r[1]), int(r[2])) for r in _table_after("Table 3c ") if r[1] != "present"}
    assert sizes == CSH_PIC_SIZES and rates == CSH_FRAME_RATES
    text = " ".join(_spec_text().split())
    listed = re.search(r"The default element set of this version is, in this order, the element ids "
                       r"([0-9, ]+) of Table 3 \(NumDefaultSemElements = (\d+)\)", text)
    assert listed, "7.4.7 lists the default element set"
    assert tuple(int(x) for x in listed.group(1).split(",")) == DEFAULT_ELEMENT_IDS
    assert int(listed.group(2)) == len(DEFAULT_ELEMENT_IDS)


def test_spec_title_names_the_implemented_edition() -> None:
    from bitstream.structures import SPEC_TEXT_VERSION
    title = _spec_text().splitlines()[0]
    assert title.endswith(f"version {SPEC_TEXT_VERSION}"), title


def _pairs(cell: str) -> list[tuple[int, int]]:
    """"initValue/shiftIdx, ..." cells of Tables 10a and 10b."""
    return [(int(v), int(k)) for v, k in (p.strip().split("/") for p in cell.split(","))]


def test_syntax2_context_tables_match_code() -> None:
    """Tables 10a and 10b (spec 9.3.6.1, trained values) are the code's tables."""
    from bitstream import cabac_contexts as cx
    rows = {r[0]: _pairs(r[1]) for r in _table_after("Table 10a ")}
    assert rows.pop("su_frame_idx_delta_flag") == [cx.FRAME_IDX_DELTA_FLAG_CTX_INIT]
    assert rows.pop("su_num_frames_pred_flag") == [cx.NUM_FRAMES_PRED_FLAG_CTX_INIT]
    assert rows.pop("sf_skip_flag") == list(cx.COMPACT_SKIP_CTX_INIT)
    from bitstream.semantic_groups import GROUP_NAMES
    assert [rows[f"sf_group_flag, group {g}"] for g in GROUP_NAMES] == [list(p) for p in cx.GROUP_FLAG_CTX_INIT]
    assert len(rows) == len(GROUP_NAMES)
    per_element = {r[0]: [_pairs(c) for c in r[1:]] for r in _table_after("Table 10b ")}
    expected = {str(e): t for e, t in cx.COMPACT_ELEMENT_CTX_INIT.items()}
    expected["any other"] = cx.COMPACT_UNTRAINED_ELEMENT
    assert set(per_element) == set(expected)
    for key, t in expected.items():
        assert per_element[key] == [list(t.sig), list(t.gt1), list(t.par), list(t.gt3), list(t.sign)], key
