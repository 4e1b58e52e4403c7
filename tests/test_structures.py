"""Round trips of every syntax structure through StreamWriter -> bytes -> StreamParser
(spec 7.3), context carry (spec 9.3.1), hashes (spec 7.4.6) and traces."""
from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_cabac import RefDecoder, ref_init, to_bits  # independent CABAC model

from bitstream.cabac_contexts import MAX_RICE_STAT, NUM_CTX_PER_ELEMENT, ElementContextInit
from bitstream.profiles import LEVELS
from bitstream.semantic_elements import ELEMENT_BY_ID
from bitstream.semantic_reconstruction import semantics_md5
from bitstream.stream import (ParsedEndOfSequence, ParsedHash, ParsedKeyframe,
                              ParsedSemanticUnit, ParsedSequenceHeader, StreamParser,
                              StreamWriter)
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, HASH_ENTRY_KEYFRAME,
                                  HASH_ENTRY_SEMANTICS, KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC,
                                  raw_picture_size, HashEntry, HashUnit, KeyframeUnit,
                                  SemanticFrame, SemanticUnit, SequenceHeader, code_hash_unit,
                                  code_keyframe_unit, code_semantic_unit, code_sequence_header,
                                  with_explicit_init)
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.units import UnitType, frame_unit, iter_units

SLOW = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


# ---------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------
@st.composite
def sequence_headers(draw, entropy=None, carry=None, explicit=None, max_elements=14,
                     num_frames=0):  # type: ignore[no-untyped-def]
    mode = draw(st.sampled_from([ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])) if entropy is None else entropy
    ids = draw(st.lists(st.integers(0, 13), min_size=1, max_size=max_elements, unique=True))
    precisions = [draw(st.one_of(st.just(ELEMENT_BY_ID[e].max_precision),
                                 st.integers(0, ELEMENT_BY_ID[e].max_precision))) for e in ids]
    level = draw(st.sampled_from(sorted(LEVELS)))
    lim = LEVELS[level]
    den = draw(st.sampled_from([1, 1, 2, 1001]))
    num = draw(st.integers(1, int(lim.max_frame_rate * den)))
    codec = draw(st.sampled_from([KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC]))
    max_pic = 40 if codec == KEYFRAME_CODEC_RAW else lim.max_pic_size   # small raw pictures
    sh = SequenceHeader(
        sh_version_minor=draw(st.integers(0, 255)),
        sh_level_idc=level,
        sh_pic_width=draw(st.integers(16, max_pic)),
        sh_pic_height=draw(st.integers(16, max_pic)),
        sh_frame_rate_num=num, sh_frame_rate_den=den,
        sh_num_frames=draw(st.integers(0, (1 << 32) - 1)) if num_frames is None else num_frames,
        sh_chroma_format_idc=draw(st.sampled_from([1, 3])),
        sh_entropy_coding_mode=mode,
        sh_keyframe_codec_id=codec,
        sh_sem_element_id=ids, sh_sem_precision=precisions,
        sh_generator_name=draw(st.text(alphabet=PRINTABLE, max_size=40)),
        sh_generator_sha256=draw(st.binary(min_size=32, max_size=32)),
    )
    if mode == ENTROPY_CABAC:
        sh.sh_cabac_init_qp = draw(st.integers(0, 63))
        sh.sh_cabac_context_carry_flag = draw(st.integers(0, 1)) if carry is None else carry
        use_explicit = draw(st.booleans()) if explicit is None else explicit
        if use_explicit:
            if draw(st.booleans()):
                with_explicit_init(sh)     # the default tables, sent explicitly
            else:
                inits = [ElementContextInit(
                    tuple(draw(st.lists(st.integers(0, 63), min_size=NUM_CTX_PER_ELEMENT,
                                        max_size=NUM_CTX_PER_ELEMENT))),
                    tuple(draw(st.lists(st.integers(0, 15), min_size=NUM_CTX_PER_ELEMENT,
                                        max_size=NUM_CTX_PER_ELEMENT))),
                    draw(st.integers(0, MAX_RICE_STAT))) for _ in ids]
                skip = [(draw(st.integers(0, 63)), draw(st.integers(0, 15))) for _ in range(2)]
                with_explicit_init(sh, inits, skip)
    return sh


def random_levels(rnd: random.Random, sh: SequenceHeader, prev: list[int] | None, style: str) -> list[int]:
    out = []
    for i in range(sh.num_sem_elements):
        lo, hi = sh.level_bounds(i)
        if prev is None or style == "uniform":
            out.append(rnd.choice([lo, hi, rnd.randint(lo, hi), min(max(0, lo), hi)]))
        elif style == "extremes":
            out.append(rnd.choice([lo, hi, prev[i]]))
        elif style == "static":
            out.append(prev[i] if rnd.random() < 0.9 else rnd.randint(lo, hi))
        else:   # random walk with mostly small steps
            step = rnd.choice([0, 0, 0, 1, -1, 2, -2, 3, -3, rnd.randint(-40, 40),
                               rnd.randint(lo - hi, hi - lo)])
            out.append(min(max(prev[i] + step, lo), hi))
    return out


@st.composite
def programs(draw, sh_strategy=None):  # type: ignore[no-untyped-def]
    """A sequence header and a list of unit events with levels inside each element's range."""
    sh = draw(sh_strategy if sh_strategy is not None else sequence_headers())
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    max_frames = LEVELS[sh.sh_level_idc].max_frames_per_unit
    events = []
    prev = None
    n_events = draw(st.integers(1, 10))
    for k in range(n_events):
        kind = "kf" if k == 0 else draw(st.sampled_from(["su", "su", "su", "su", "kf", "hash"]))
        delta = draw(st.sampled_from([0, 0, 0, 1, 2, 5]))
        if kind == "kf":
            prev = random_levels(rnd, sh, prev, "uniform")
            if sh.sh_keyframe_codec_id == KEYFRAME_CODEC_RAW:
                picture = rnd.randbytes(raw_picture_size(sh))
            else:
                picture = draw(st.binary(min_size=1, max_size=40))
            events.append(("kf", dict(
                picture_payload=picture, ref_levels=prev,
                geometry_version=draw(st.integers(0, 255)),
                geometry_payload=draw(st.binary(max_size=20)), frame_idx_delta=delta)))
        elif kind == "su":
            style = draw(st.sampled_from(["walk", "walk", "static", "extremes", "uniform"]))
            frames = []
            for _ in range(draw(st.one_of(st.integers(1, 4), st.just(max_frames)))):
                skip = rnd.random() < 0.25
                prev = list(prev) if skip else random_levels(rnd, sh, prev, style)
                frames.append(prev)
            events.append(("su", dict(frames_levels=frames, frame_idx_delta=delta)))
        else:
            events.append(("hash", dict(per_frame=draw(st.booleans()))))
    events.append(("hash", dict(per_frame=draw(st.booleans()))))
    if draw(st.booleans()):   # sh_num_frames: 0 (unknown) or the number of frames (spec 7.4.2)
        sh.sh_num_frames = sum(a["frame_idx_delta"] + (1 if k == "kf" else len(a["frames_levels"]))
                               for k, a in events if k != "hash")
    return sh, events


def write_program(sh: SequenceHeader, events, trace=None):  # type: ignore[no-untyped-def]
    """Writes the stream; returns it and the expected decoder output per unit."""
    w = StreamWriter(sh, trace=trace)
    expected = [("sh",)]
    idx = 0
    prev = None
    pending_kf: dict[int, bytes] = {}    # key frames since the previous hash unit
    for kind, args in events:
        if kind == "kf":
            inferred = []
            for _ in range(args["frame_idx_delta"]):
                if prev is not None:
                    inferred.append((idx, list(prev)))
                idx += 1
            pending_kf[idx] = bytes([idx & 0xFF]) * 16
            w.keyframe(args["picture_payload"], args["ref_levels"],
                       geometry_version=args["geometry_version"],
                       geometry_payload=args["geometry_payload"],
                       frame_idx_delta=args["frame_idx_delta"])
            expected.append(("kf", idx, list(args["ref_levels"]), inferred, args))
            prev = list(args["ref_levels"])
            idx += 1
        elif kind == "su":
            frames = []
            for _ in range(args["frame_idx_delta"]):
                frames.append((idx, list(prev), True, True))
                idx += 1
            for levels in args["frames_levels"]:
                frames.append((idx, list(levels), levels == prev, False))
                prev = list(levels)
                idx += 1
            w.semantic_unit(args["frames_levels"], args["frame_idx_delta"])
            expected.append(("su", frames))
        else:
            # picture hashes of the key frames since the previous hash unit (every other time)
            w.hash_unit(keyframe_md5=dict(pending_kf) if args["per_frame"] else None,
                        per_frame=args["per_frame"])
            expected.append(("hash", dict(pending_kf) if args["per_frame"] else {}))
            pending_kf.clear()
    w.end_of_sequence()
    expected.append(("eos",))
    return w.getvalue(), expected


def check_parse(sh: SequenceHeader, data: bytes, expected, trace=None) -> list:  # type: ignore[no-untyped-def]
    units = list(StreamParser(trace=trace).parse(data))
    assert len(units) == len(expected)
    covered: set[int] = set()
    decoded: dict[int, list[int]] = {}
    for unit, exp in zip(units, expected):
        if exp[0] == "sh":
            assert isinstance(unit, ParsedSequenceHeader)
            assert unit.sh == sh
            assert unit.limits.level_idc == sh.sh_level_idc
        elif exp[0] == "kf":
            assert isinstance(unit, ParsedKeyframe)
            _, idx, levels, inferred, args = exp
            assert unit.frame_idx == idx
            assert unit.levels == levels
            assert unit.kf.kf_ref_sem_level == levels
            assert unit.inferred_before == inferred
            assert unit.kf.kf_picture_payload == args["picture_payload"]
            assert unit.kf.kf_geometry_payload == args["geometry_payload"]
            assert unit.kf.kf_geometry_version == args["geometry_version"]
            assert unit.kf.kf_codec_id == sh.sh_keyframe_codec_id
            assert unit.kf.kf_frame_idx_delta == args["frame_idx_delta"]
            decoded[idx] = levels
            decoded.update(dict(inferred))
        elif exp[0] == "su":
            assert isinstance(unit, ParsedSemanticUnit)
            got = [(f.frame_idx, f.levels, f.skip, f.inferred) for f in unit.frames]
            assert got == exp[1]
            assert len(unit.su.frames) == sum(1 for f in exp[1] if not f[3])
            for f in exp[1]:
                decoded[f[0]] = f[1]
            for f, coded in zip([f for f in exp[1] if not f[3]], unit.su.frames):
                assert coded.sf_skip_flag == int(f[2])
        elif exp[0] == "hash":
            assert isinstance(unit, ParsedHash)
            for check in unit.checks:
                if check.entry.hu_entry_type == HASH_ENTRY_SEMANTICS:
                    assert check.matches is True
                    first = check.entry.hu_first_frame_idx
                    frames = range(first, first + check.entry.hu_num_frames_minus1 + 1)
                    assert semantics_md5([decoded[i] for i in frames]) == check.entry.hu_md5
                    covered.update(frames)
                else:
                    assert check.matches is None
            kf_entries = {c.entry.hu_first_frame_idx: c.entry.hu_md5 for c in unit.checks
                          if c.entry.hu_entry_type == HASH_ENTRY_KEYFRAME}
            assert kf_entries == exp[1]
        else:
            assert isinstance(unit, ParsedEndOfSequence)
    # the final hash unit covers every frame decoded since the previous one, and in total
    # every frame that has levels
    assert covered == set(decoded)
    return units


# ---------------------------------------------------------------------------------------
# Whole-stream round trips
# ---------------------------------------------------------------------------------------
@SLOW
@given(programs())
def test_stream_round_trip(program):
    sh, events = program
    data, expected = write_program(sh, events)
    check_parse(sh, data, expected)


@SLOW
@given(programs(sequence_headers(entropy=ENTROPY_CABAC, explicit=True)))
def test_stream_round_trip_cabac_explicit_init(program):
    sh, events = program
    assert sh.sh_cabac_explicit_init_flag == 1
    data, expected = write_program(sh, events)
    check_parse(sh, data, expected)


@pytest.mark.parametrize("carry", [0, 1])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_context_carry_round_trip(carry, data):
    sh, events = data.draw(programs(sequence_headers(entropy=ENTROPY_CABAC, carry=carry)))
    assert sh.sh_cabac_context_carry_flag == carry
    stream, expected = write_program(sh, events)
    units = check_parse(sh, stream, expected)
    # Independent decoding of the semantic units, managing the parsing state as spec 9.3.1
    # says: a fresh state after the sequence header and every key frame, and for every
    # semantic unit when sh_cabac_context_carry_flag is 0.
    state = None
    for unit in units:
        if isinstance(unit, ParsedKeyframe):
            state = None
        elif isinstance(unit, ParsedSemanticUnit):
            if state is None or carry == 0:
                state = sh.new_context_state()
            su = code_semantic_unit(SyntaxReader(unit.raw.payload), SemanticUnit(), sh, state)
            assert su == unit.su


def _walk_stream(carry: int) -> tuple[SequenceHeader, bytes, list[list[list[int]]]]:
    sh = SequenceHeader(sh_sem_element_id=[0, 1, 2], sh_sem_precision=[2, 2, 2],
                        sh_cabac_context_carry_flag=carry)
    rnd = random.Random(5)
    w = StreamWriter(sh)
    w.keyframe(b"pic", [0, 0, 0])
    prev = [0, 0, 0]
    units = []
    for _ in range(4):
        frames = []
        for _ in range(16):
            prev = [min(max(v + rnd.choice([-9, 9, 0, 30]), -360), 360) for v in prev]
            frames.append(prev)
        w.semantic_unit(frames)
        units.append(frames)
    w.end_of_sequence()
    return sh, w.getvalue(), units


def test_context_carry_changes_the_coding():
    """With carry, the second semantic unit's contexts continue from the first: decoding it
    with freshly initialised contexts does not give the coded residuals; without carry it does."""
    for carry in (0, 1):
        sh, data, _ = _walk_stream(carry)
        parsed = list(StreamParser().parse(data))
        second = [u for u in parsed if isinstance(u, ParsedSemanticUnit)][1]
        try:
            fresh = code_semantic_unit(SyntaxReader(second.raw.payload), SemanticUnit(), sh,
                                       sh.new_context_state())
        except Exception:  # noqa: BLE001 - any failure shows the contexts mattered
            fresh = None
        if carry:
            assert fresh != second.su
        else:
            assert fresh == second.su
    a = _walk_stream(0)[1]
    b = _walk_stream(1)[1]
    assert a != b


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_skip_frames_inferred_frames_and_many_frames(entropy):
    sh = SequenceHeader(sh_sem_element_id=[6, 0, 13], sh_sem_precision=[0, 8, 10],
                        sh_entropy_coding_mode=entropy, sh_level_idc=30, sh_pic_width=1024,
                        sh_pic_height=1024)
    lo_hi = [sh.level_bounds(i) for i in range(3)]
    assert lo_hi == [(0, 15), (-90 * 256, 90 * 256), (-4 * 1024, 4 * 1024)]
    w = StreamWriter(sh)
    w.keyframe(b"\x00" * 3, [15, -23040, 4096], frame_idx_delta=3)
    same = [[15, -23040, 4096]] * 5
    w.semantic_unit(same)                                  # 5 skip frames
    jumps = [[0, 23040, -4096], [15, -23040, 4096]] * 32   # 64 frames: largest residuals
    w.semantic_unit(jumps, frame_idx_delta=7)
    w.hash_unit(per_frame=True)
    w.end_of_sequence()
    units = list(StreamParser().parse(w.getvalue()))
    kf = units[1]
    assert kf.frame_idx == 3 and kf.inferred_before == []     # nothing to infer from yet
    s1 = units[2]
    assert [(f.frame_idx, f.skip, f.inferred) for f in s1.frames] == [(i, True, False) for i in range(4, 9)]
    assert all(f.sf_skip_flag == 1 for f in s1.su.frames)
    s2 = units[3]
    assert [f.frame_idx for f in s2.frames] == list(range(9, 9 + 7 + 64))
    assert all(f.inferred and f.skip and f.levels == [15, -23040, 4096] for f in s2.frames[:7])
    assert [f.levels for f in s2.frames[7:]] == jumps
    assert s2.su.frames[0].sem_res == [-15, 46080, -8192]
    hashes = units[4]
    assert len(hashes.checks) == 1 + 5 + 7 + 64
    assert all(c.matches for c in hashes.checks)


def test_inferred_frames_between_semantic_units_and_before_keyframe():
    sh = SequenceHeader(sh_sem_element_id=[9], sh_sem_precision=[6])
    w = StreamWriter(sh)
    w.keyframe(b"k", [10])
    w.semantic_unit([[11]], frame_idx_delta=2)
    w.keyframe(b"k2", [20], frame_idx_delta=2)
    w.semantic_unit([[21], [22]])
    w.hash_unit()
    w.end_of_sequence()
    units = list(StreamParser().parse(w.getvalue()))
    assert [(f.frame_idx, f.levels, f.inferred) for f in units[2].frames] == \
        [(1, [10], True), (2, [10], True), (3, [11], False)]
    assert units[3].frame_idx == 6
    assert units[3].inferred_before == [(4, [11]), (5, [11])]
    assert [(f.frame_idx, f.levels) for f in units[4].frames] == [(7, [21]), (8, [22])]
    (check,) = units[5].checks
    assert (check.entry.hu_first_frame_idx, check.entry.hu_num_frames_minus1) == (0, 8)
    assert check.matches is True
    assert check.entry.hu_md5 == semantics_md5([[10], [10], [10], [11], [11], [11], [20], [21], [22]])


# ---------------------------------------------------------------------------------------
# Individual structures through SyntaxWriter -> SyntaxReader
# ---------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(sequence_headers(num_frames=None))
def test_sequence_header_round_trip(sh):
    sw = SyntaxWriter()
    code_sequence_header(sw, sh)
    data = sw.getvalue()
    back = code_sequence_header(SyntaxReader(data), SequenceHeader())
    assert back == sh
    # framed and parsed by the stream parser's unit parser too (parse() would also check
    # sh_num_frames against a stream that has no frames)
    (raw,) = list(iter_units(frame_unit(UnitType.SEQUENCE_HEADER, data)))
    parsed = StreamParser().parse_unit(raw)
    assert isinstance(parsed, ParsedSequenceHeader)
    assert parsed.sh == sh


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(48, 255), min_size=1, max_size=5, unique=True),
       st.integers(0, 15), st.sampled_from([ENTROPY_EXP_GOLOMB, ENTROPY_CABAC]))
def test_unknown_element_ids_round_trip_without_profile_check(ids, precision, entropy):
    """Element ids reserved for extensions (beyond Tables 3 and 3e) parse (profile checks off), with the wide range."""
    sh = SequenceHeader(sh_sem_element_id=ids, sh_sem_precision=[precision] * len(ids),
                        sh_entropy_coding_mode=entropy)
    sw = SyntaxWriter()
    code_sequence_header(sw, sh)
    stream = frame_unit(UnitType.SEQUENCE_HEADER, sw.getvalue())
    lo, hi = sh.level_bounds(0)
    assert (lo, hi) == (-(1 << 24) + 1, (1 << 24) - 1)
    kf = KeyframeUnit(0, sh.sh_keyframe_codec_id, [lo] * len(ids), 0, b"", b"p")
    sw = SyntaxWriter()
    code_keyframe_unit(sw, kf, sh)
    stream += frame_unit(UnitType.KEYFRAME, sw.getvalue())
    su = SemanticUnit(0, [SemanticFrame(0, [hi - lo] * len(ids)), SemanticFrame(1, [0] * len(ids))])
    sw = SyntaxWriter()
    code_semantic_unit(sw, su, sh, sh.new_context_state() if entropy else None)
    stream += frame_unit(UnitType.SEMANTIC, sw.getvalue())
    units = list(StreamParser(check_profile=False).parse(stream))
    assert units[0].sh == sh
    assert [f.levels for f in units[2].frames] == [[hi] * len(ids), [hi] * len(ids)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([HASH_ENTRY_SEMANTICS, HASH_ENTRY_KEYFRAME]).flatmap(
    lambda t: st.lists(st.builds(HashEntry, st.just(t), st.integers(0, (1 << 32) - 1),
                                 st.integers(0, 0 if t else 65535), st.binary(min_size=16, max_size=16)),
                       max_size=6)))
def test_hash_unit_round_trip(entries):
    hu = HashUnit(entries=entries)
    wt: list = []
    sw = SyntaxWriter(wt)
    code_hash_unit(sw, hu)
    rt: list = []
    back = code_hash_unit(SyntaxReader(sw.getvalue(), trace=rt), HashUnit())
    assert back == hu
    assert [(e.bit_pos, e.name, e.value, e.num_bits) for e in wt] == \
        [(e.bit_pos, e.name, e.value, e.num_bits) for e in rt]


@settings(max_examples=60, deadline=None)
@given(sequence_headers(), st.data())
def test_keyframe_unit_round_trip_and_traces(sh, data):
    levels = [data.draw(st.integers(*sh.level_bounds(i))) for i in range(sh.num_sem_elements)]
    kf = KeyframeUnit(data.draw(st.one_of(st.integers(0, 10), st.just((1 << 16) - 1))),
                      data.draw(st.integers(0, 255)), levels, data.draw(st.integers(0, 255)),
                      data.draw(st.binary(max_size=300)), data.draw(st.binary(min_size=1, max_size=300)))
    wt: list = []
    sw = SyntaxWriter(wt)
    code_keyframe_unit(sw, KeyframeUnit(**vars(kf)), sh)
    rt: list = []
    back = code_keyframe_unit(SyntaxReader(sw.getvalue(), trace=rt), KeyframeUnit(), sh)
    assert back == kf
    assert [(e.bit_pos, e.name, e.descriptor, e.value, e.num_bits) for e in wt] == \
        [(e.bit_pos, e.name, e.descriptor, e.value, e.num_bits) for e in rt]
    assert [e.format() for e in wt] == [e.format() for e in rt]


@settings(max_examples=60, deadline=None)
@given(sequence_headers(), st.data())
def test_semantic_unit_writer_and_reader_traces_agree(sh, data):
    n = sh.num_sem_elements
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    frames = []
    for _ in range(data.draw(st.integers(1, 8))):
        if rnd.random() < 0.2:
            frames.append(SemanticFrame(1, [0] * n))
        else:
            res = []
            for i in range(n):
                lo, hi = sh.level_bounds(i)
                r = rnd.choice([0, 1, -1, 2, -2, 3, -3, 4, hi - lo, lo - hi,
                                rnd.randint(lo - hi, hi - lo)])
                res.append(max(min(r, hi - lo), lo - hi))
            if not any(res):
                res[0] = 1
            frames.append(SemanticFrame(0, res))
    su = SemanticUnit(data.draw(st.integers(0, (1 << 16) - 1)), frames)
    cabac = sh.sh_entropy_coding_mode == ENTROPY_CABAC
    wt: list = []
    sw = SyntaxWriter(wt)
    code_semantic_unit(sw, SemanticUnit(su.su_frame_idx_delta,
                                        [SemanticFrame(f.sf_skip_flag, list(f.sem_res)) for f in frames]),
                       sh, sh.new_context_state() if cabac else None)
    rt: list = []
    back = code_semantic_unit(SyntaxReader(sw.getvalue(), trace=rt), SemanticUnit(), sh,
                              sh.new_context_state() if cabac else None)
    assert back == su
    assert [(e.name, e.descriptor, e.value) for e in wt] == [(e.name, e.descriptor, e.value) for e in rt]
    assert [e.format().split()[1:] for e in wt] == [e.format().split()[1:] for e in rt]
    fixed = [(e.bit_pos, e.num_bits) for e in wt if e.descriptor != "ae(v)"]
    assert fixed == [(e.bit_pos, e.num_bits) for e in rt if e.descriptor != "ae(v)"]
    assert wt[-1].name in ("alignment_zero_bit", "unit_stop_one_bit", "end_of_unit_one_bit")


# ---------------------------------------------------------------------------------------
# Traces of the stream parser
# ---------------------------------------------------------------------------------------
ELEMENT_NAME = re.compile(
    r"^(sh_signature|sh_version_major|sh_version_minor|sh_profile_idc|sh_level_idc|sh_pic_width|"
    r"sh_pic_height|sh_frame_rate_num|sh_frame_rate_den|sh_num_frames|sh_chroma_format_idc|"
    r"sh_bit_depth_minus8|sh_entropy_coding_mode|sh_keyframe_codec_id|sh_num_sem_elements|"
    r"sh_sem_element_id\[\d+\]|sh_sem_precision\[\d+\]|sh_cabac_init_qp|"
    r"sh_cabac_context_carry_flag|sh_cabac_explicit_init_flag|sh_skip_ctx_init_value\[\d\]|"
    r"sh_skip_ctx_shift_idx\[\d\]|sh_ctx_init_value\[\d+\]\[\d+\]|sh_ctx_shift_idx\[\d+\]\[\d+\]|"
    r"sh_rice_stat_init\[\d+\]|sh_generator_name_length|sh_generator_name_byte\[\d+\]|"
    r"sh_generator_sha256_byte\[\d+\]|"
    r"kf_frame_idx_delta|kf_codec_id|kf_ref_sem_level\[\d+\]|kf_geometry_version|kf_geometry_size|"
    r"kf_picture_size|kf_geometry_byte|kf_picture_byte|"
    r"su_frame_idx_delta|su_num_frames_minus1|sf_skip_flag\[\d+\]|sem_res\[\d+\]\[\d+\]|"
    r"sem_res_(sig|gt1|gt2|sign)_flag\[\d+\]\[\d+\]|sem_res_abs_minus3\[\d+\]\[\d+\]|"
    r"end_of_unit_one_bit|"
    r"hu_hash_type|hu_num_entries|hu_entry_type\[\d+\]|hu_first_frame_idx\[\d+\]|"
    r"hu_num_frames_minus1\[\d+\]|hu_md5\[\d+\]|"
    r"unit_stop_one_bit|alignment_zero_bit|"
    r"forbidden_zero_bit|unit_type|unit_reserved_zero_2bits|unit_payload_size)$")
UNIT_HEADER_NAMES = ["forbidden_zero_bit", "unit_type", "unit_reserved_zero_2bits", "unit_payload_size"]


def expected_sh_names(sh: SequenceHeader) -> list[str]:
    """The sequence header's syntax, in order, written from the syntax table."""
    names = ["sh_signature", "sh_version_major", "sh_version_minor", "sh_profile_idc",
             "sh_level_idc", "sh_pic_width", "sh_pic_height", "sh_frame_rate_num",
             "sh_frame_rate_den", "sh_num_frames", "sh_chroma_format_idc", "sh_bit_depth_minus8",
             "sh_entropy_coding_mode", "sh_keyframe_codec_id", "sh_num_sem_elements"]
    for i in range(sh.num_sem_elements):
        names += [f"sh_sem_element_id[{i}]", f"sh_sem_precision[{i}]"]
    if sh.sh_entropy_coding_mode == ENTROPY_CABAC:
        names += ["sh_cabac_init_qp", "sh_cabac_context_carry_flag", "sh_cabac_explicit_init_flag"]
        if sh.sh_cabac_explicit_init_flag:
            for j in range(2):
                names += [f"sh_skip_ctx_init_value[{j}]", f"sh_skip_ctx_shift_idx[{j}]"]
            for i in range(sh.num_sem_elements):
                for j in range(NUM_CTX_PER_ELEMENT):
                    names += [f"sh_ctx_init_value[{i}][{j}]", f"sh_ctx_shift_idx[{i}][{j}]"]
                names.append(f"sh_rice_stat_init[{i}]")
    names.append("sh_generator_name_length")
    names += [f"sh_generator_name_byte[{i}]" for i in range(len(sh.sh_generator_name))]
    names += [f"sh_generator_sha256_byte[{i}]" for i in range(32)]
    names.append("unit_stop_one_bit")
    return names


@SLOW
@given(programs())
def test_parser_trace_names_and_positions(program):
    sh, events = program
    wtrace: list = []
    data, expected = write_program(sh, events, trace=wtrace)
    trace: list = []
    units = check_parse(sh, data, expected, trace=trace)
    raws = list(iter_units(data))
    assert trace, "tracing records entries"
    for e in trace:
        assert ELEMENT_NAME.match(e.name), e.name
        assert e.num_bits >= 0
    positions = [e.bit_pos for e in trace]
    assert positions == sorted(positions)
    # fixed-length/Exp-Golomb entries tile their unit's payload without gaps or overlaps
    for raw in raws:
        lo, hi = raw.payload_bit_offset, raw.payload_bit_offset + 8 * len(raw.payload)
        header = [e for e in trace if e.name in UNIT_HEADER_NAMES and 8 * raw.offset <= e.bit_pos < lo]
        assert [e.name for e in header] == UNIT_HEADER_NAMES
        assert header[1].value == raw.unit_type and header[3].value == len(raw.payload)
        assert header[3].bit_pos + header[3].num_bits == lo      # the payload follows the header
        entries = [e for e in trace if lo <= e.bit_pos <= hi     # a 0-bit ae(v) may sit at hi
                   and e.name not in UNIT_HEADER_NAMES]
        assert entries, raw.unit_type
        assert entries[-1].bit_pos + entries[-1].num_bits == hi
        if raw.unit_type != UnitType.SEMANTIC or sh.sh_entropy_coding_mode == ENTROPY_EXP_GOLOMB:
            assert entries[0].bit_pos == lo
            for a, b in zip(entries, entries[1:]):
                assert b.bit_pos == a.bit_pos + a.num_bits, (a, b)
        else:
            assert entries[0].name == "su_frame_idx_delta"
            assert entries[0].bit_pos == lo + 9      # after the 9 bits of ivlOffset
            aligned = [e for e in entries if e.descriptor != "ae(v)"]
            assert all(e.name == "alignment_zero_bit" for e in aligned)
            ae = [e for e in entries if e.descriptor == "ae(v)"]
            assert ae[-1].name == "end_of_unit_one_bit" and ae[-1].value == 1
    # the sequence header's elements, in the order of the syntax table, with their values
    sh_entries = [e for e in trace if e.bit_pos < raws[1].payload_bit_offset]
    names = [e.name for e in sh_entries if e.name not in ("alignment_zero_bit", *UNIT_HEADER_NAMES)]
    assert names == expected_sh_names(sh)
    values = {e.name: e.value for e in sh_entries}
    assert values["sh_level_idc"] == sh.sh_level_idc
    assert values["sh_num_sem_elements"] == sh.num_sem_elements
    assert [values[f"sh_sem_precision[{i}]"] for i in range(sh.num_sem_elements)] == sh.sh_sem_precision
    # key-frame levels and semantic frames appear in the trace with their values
    for unit in units:
        if isinstance(unit, ParsedKeyframe):
            ents = [e for e in trace if e.bit_pos >= unit.raw.payload_bit_offset
                    and e.name.startswith("kf_ref_sem_level")][:sh.num_sem_elements]
            assert [e.value for e in ents] == unit.levels
    # the writer's trace names the same elements with the same values
    assert [(e.name, e.value) for e in wtrace] == [(e.name, e.value) for e in trace]


# ---------------------------------------------------------------------------------------
# Hash checks
# ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.data())
def test_hash_detects_a_corrupted_level(program, data):
    sh, events = program
    events = [e for e in events if e[0] != "hash"]     # hashes written by hand below
    w = StreamWriter(sh)
    levels_by_frame: list[list[int]] = []
    for kind, args in events:
        if kind == "kf":
            levels_by_frame += [list(levels_by_frame[-1])] * args["frame_idx_delta"] if levels_by_frame \
                else [None] * args["frame_idx_delta"]
            w.keyframe(args["picture_payload"], args["ref_levels"],
                       frame_idx_delta=args["frame_idx_delta"])
            levels_by_frame.append(list(args["ref_levels"]))
        else:
            levels_by_frame += [list(levels_by_frame[-1])] * args["frame_idx_delta"]
            w.semantic_unit(args["frames_levels"], args["frame_idx_delta"])
            levels_by_frame += [list(x) for x in args["frames_levels"]]
    first = next(i for i, v in enumerate(levels_by_frame) if v is not None)
    frames = levels_by_frame[first:]
    bad = [list(x) for x in frames]
    j = data.draw(st.integers(0, len(bad) - 1))
    i = data.draw(st.integers(0, sh.num_sem_elements - 1))
    lo, hi = sh.level_bounds(i)
    bad[j][i] = bad[j][i] + 1 if bad[j][i] < hi else bad[j][i] - 1
    good_md5 = semantics_md5(frames)
    bad_md5 = semantics_md5(bad)
    assert good_md5 != bad_md5
    prefix = w.getvalue()
    results = []
    for md5 in (good_md5, bad_md5):
        sw = SyntaxWriter()
        code_hash_unit(sw, HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, first,
                                                       len(frames) - 1, md5)]))
        units = list(StreamParser().parse(prefix + frame_unit(UnitType.HASH, sw.getvalue())))
        (check,) = units[-1].checks
        results.append(check.matches)
    assert results == [True, False]


def test_keyframe_hash_entries_are_left_to_the_picture_decoder():
    sh = SequenceHeader(sh_sem_element_id=[0], sh_sem_precision=[0])
    w = StreamWriter(sh)
    w.keyframe(b"pic", [5])
    w.semantic_unit([[6]])
    w.hash_unit(keyframe_md5={0: b"\x11" * 16}, per_frame=True)
    units = list(StreamParser().parse(w.getvalue()))
    checks = units[-1].checks
    assert [(c.entry.hu_entry_type, c.entry.hu_first_frame_idx, c.matches) for c in checks] == \
        [(HASH_ENTRY_SEMANTICS, 0, True), (HASH_ENTRY_SEMANTICS, 1, True), (HASH_ENTRY_KEYFRAME, 0, None)]
    assert checks[-1].entry.hu_md5 == b"\x11" * 16


def test_semantics_md5_layout():
    """32-bit little-endian two's complement per level, frames in order (spec 7.4.6)."""
    import hashlib
    levels = [[1, -1], [0x7FFFFFFF, -(1 << 31)]]
    raw = b"\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00\x00\x80"
    assert semantics_md5(levels) == hashlib.md5(raw).digest()


def test_unit_framing_layout():
    unit = frame_unit(UnitType.HASH, b"\x80" * 200)
    assert unit[0] == 3 << 2
    assert unit[1:3] == bytes([200 & 0x7F | 0x80, 200 >> 7])
    (raw,) = list(iter_units(unit))
    assert (raw.unit_type, raw.offset, raw.header_size, raw.payload) == (3, 0, 3, b"\x80" * 200)
    assert raw.payload_bit_offset == 24



@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
@pytest.mark.parametrize("seed", [1, 2])
def test_long_stream_all_elements(entropy, seed):
    """Every baseline element at its largest precision, 300 frames of mixed motion."""
    rnd = random.Random(seed)
    ids = list(range(14))
    rnd.shuffle(ids)
    sh = SequenceHeader(sh_sem_element_id=ids,
                        sh_sem_precision=[ELEMENT_BY_ID[e].max_precision for e in ids],
                        sh_entropy_coding_mode=entropy,
                        sh_cabac_context_carry_flag=seed % 2 if entropy == ENTROPY_CABAC else 1)
    events = [("kf", dict(picture_payload=b"\x01" * 10, ref_levels=random_levels(rnd, sh, None, "uniform"),
                          geometry_version=1, geometry_payload=b"g", frame_idx_delta=0))]
    prev = events[0][1]["ref_levels"]
    for u in range(25):
        frames = []
        for _ in range(rnd.randint(1, 16)):
            prev = random_levels(rnd, sh, prev, rnd.choice(["walk", "static", "extremes"]))
            frames.append(prev)
        events.append(("su", dict(frames_levels=frames, frame_idx_delta=rnd.choice([0, 0, 1]))))
        if u % 7 == 6:
            events.append(("hash", dict(per_frame=bool(u % 2))))
    events.append(("hash", dict(per_frame=False)))
    data, expected = write_program(sh, events)
    check_parse(sh, data, expected)


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_stream_writer_trace_positions_are_stream_positions(entropy):
    """TraceEntry.bit_pos is 'the position of the element's first bit in the whole stream'
    (trace.py): the encoder's trace (StreamWriter(trace=...)) and the decoder's trace
    (StreamParser(trace=...)) then agree on the position of every fixed-length and
    Exp-Golomb element, so that the two traces can be diffed."""
    sh = SequenceHeader(sh_sem_element_id=[0, 9], sh_sem_precision=[2, 6],
                        sh_entropy_coding_mode=entropy)
    wt: list = []
    w = StreamWriter(sh, trace=wt)
    w.keyframe(b"pic", [3, 4])
    w.semantic_unit([[4, 4], [9, 0]])
    w.hash_unit()
    w.end_of_sequence()
    rt: list = []
    list(StreamParser(trace=rt).parse(w.getvalue()))
    assert [(e.name, e.value) for e in wt] == [(e.name, e.value) for e in rt]
    fixed_w = [(e.name, e.bit_pos) for e in wt if e.descriptor != "ae(v)"]
    fixed_r = [(e.name, e.bit_pos) for e in rt if e.descriptor != "ae(v)"]
    assert fixed_w == fixed_r


# ---------------------------------------------------------------------------------------
# The CABAC semantic unit decoded by an independent model of spec 9.3 (context selection
# of cabac_contexts.py's table, RiceStat adaptation, carry rules of 9.3.1)
# ---------------------------------------------------------------------------------------
class RefSemanticState:
    def __init__(self, sh: SequenceHeader) -> None:
        qp = sh.sh_cabac_init_qp
        self.skip = [[*ref_init(v, qp), s] for v, s in sh.skip_ctx_init()]
        self.ctx = []
        self.rice = []
        for init in sh.element_inits():
            self.ctx.append([[*ref_init(v, qp), s] for v, s in zip(init.init_values, init.shift_idx)])
            self.rice.append(min(init.rice_stat_init, MAX_RICE_STAT))
        self.prev_skip = 0
        self.prev_res = [0] * sh.num_sem_elements


def ref_decode_semantic_payload(payload: bytes, sh: SequenceHeader, s: RefSemanticState):  # type: ignore[no-untyped-def]
    bits = to_bits(payload)
    dec = RefDecoder(bits, 0)

    def decision(c):  # type: ignore[no-untyped-def]
        state = c[:2]
        b = dec.decision(state, c[2])
        c[0], c[1] = state
        return b
    delta = dec.egk(0)
    frames = []
    for _ in range(dec.egk(0) + 1):
        skip = decision(s.skip[s.prev_skip])
        s.prev_skip = skip
        res = [0] * sh.num_sem_elements
        if not skip:
            for i in range(sh.num_sem_elements):
                p = s.prev_res[i]
                sig, gt1, gt2, sign = (s.ctx[i][0:2], s.ctx[i][2:4], s.ctx[i][4:6], s.ctx[i][6:9])
                v = 0
                if decision(sig[int(p != 0)]):
                    a = 1
                    if decision(gt1[int(abs(p) > 1)]):
                        a = 2
                        if decision(gt2[int(abs(p) > 2)]):
                            k = s.rice[i] >> 2
                            rem = dec.egk(k)
                            if rem >= (3 << k):
                                s.rice[i] = min(s.rice[i] + 1, MAX_RICE_STAT)
                            elif 2 * rem < (1 << k) and s.rice[i] > 0:
                                s.rice[i] -= 1
                            a = 3 + rem
                    v = -a if decision(sign[0 if p == 0 else (1 if p > 0 else 2)]) else a
                res[i] = v
        s.prev_res = list(res)
        frames.append((skip, res))
    assert dec.terminate() == 1
    assert bits[dec.pos - 1] == 1 and not any(bits[dec.pos:])
    return delta, frames


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(sequence_headers(entropy=ENTROPY_CABAC)))
def test_cabac_semantic_units_match_independent_model(program):
    sh, events = program
    data, expected = write_program(sh, events)
    units = check_parse(sh, data, expected)
    state = None
    for u in units:
        if isinstance(u, ParsedKeyframe):
            state = None
        elif isinstance(u, ParsedSemanticUnit):
            if state is None or not sh.sh_cabac_context_carry_flag:
                state = RefSemanticState(sh)
            delta, frames = ref_decode_semantic_payload(u.raw.payload, sh, state)
            assert delta == u.su.su_frame_idx_delta
            assert frames == [(f.sf_skip_flag, f.sem_res) for f in u.su.frames]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(sequence_headers(entropy=ENTROPY_EXP_GOLOMB)))
def test_exp_golomb_units_match_bitstring_parse(program):
    """semantic_unit() and key-frame levels in Exp-Golomb mode, read with bitstring."""
    import bitstring
    sh, events = program
    data, expected = write_program(sh, events)
    units = check_parse(sh, data, expected)
    n = sh.num_sem_elements
    for u in units:
        if isinstance(u, ParsedSemanticUnit):
            s = bitstring.Reader(bitstring.Bits(u.raw.payload))
            assert s.read_value("ue") == u.su.su_frame_idx_delta
            count = s.read_value("ue") + 1
            assert count == len(u.su.frames)
            for f in u.su.frames:
                skip = s.read_value("u1")
                assert skip == f.sf_skip_flag
                assert ([0] * n if skip else [s.read_value("se") for _ in range(n)]) == f.sem_res
            assert s.read_value("u1") == 1
            assert s.remaining == (-s.pos) % 8 and not s.bits[s.pos:].any(True)
        elif isinstance(u, ParsedKeyframe):
            s = bitstring.Reader(bitstring.Bits(u.raw.payload))
            assert s.read_value("ue") == u.kf.kf_frame_idx_delta
            assert s.read_value("u8") == u.kf.kf_codec_id
            assert [s.read_value("se") for _ in range(n)] == u.levels
            assert s.read_value("u8") == u.kf.kf_geometry_version
            assert s.read_value("ue") == len(u.kf.kf_geometry_payload)
            assert s.read_value("ue") == len(u.kf.kf_picture_payload)
            s.align()
            geometry = s.read_value(f"bytes{len(u.kf.kf_geometry_payload)}") if u.kf.kf_geometry_payload else b""
            assert geometry == u.kf.kf_geometry_payload
            assert s.read_value(f"bytes{len(u.kf.kf_picture_payload)}") == u.kf.kf_picture_payload
            assert s.read_value("bytes1") == b"\x80" and s.remaining == 0


@pytest.mark.parametrize("bad_call", ["semantic", "keyframe"])
@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_stream_writer_unchanged_after_a_rejected_unit(bad_call, entropy):
    """A StreamWriter call that raises BitstreamError (a level out of range) must not leave
    frames, frame indices or parsing state behind: the caller may go on writing, and the
    stream stays conforming (its hash unit covers exactly the frames it carries)."""
    from bitstream.errors import BitstreamError
    sh = SequenceHeader(sh_sem_element_id=[9, 0], sh_sem_precision=[6, 2],
                        sh_entropy_coding_mode=entropy)
    w = StreamWriter(sh)
    w.keyframe(b"p", [10, 0])
    w.semantic_unit([[11, 5]])
    with pytest.raises(BitstreamError):
        if bad_call == "semantic":
            w.semantic_unit([[12, 6], [500, 6]], frame_idx_delta=1)   # 500 > 128
        else:
            w.keyframe(b"p", [500, 0], frame_idx_delta=2)
    w.semantic_unit([[12, 7], [13, 8]])
    w.hash_unit()
    w.end_of_sequence()
    units, error = [], None
    try:
        for u in StreamParser().parse(w.getvalue()):
            units.append(u)
    except BitstreamError as exc:
        error = exc
    assert error is None, str(error)
    frames = [(f.frame_idx, f.levels) for u in units if isinstance(u, ParsedSemanticUnit) for f in u.frames]
    assert frames == [(1, [11, 5]), (2, [12, 7]), (3, [13, 8])]
    assert all(c.matches for c in units[-2].checks)
