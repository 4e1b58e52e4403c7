"""Stream-level writing and parsing (spec 6.3, 7.3.1, 8.2, 8.3): units in their order, with
the state carried between units (frame index, prediction, CABAC contexts, hash coverage,
inferred-frame budget) held once in SequenceState, which writer and parser both drive."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Union

from .errors import BitstreamError
from .profiles import MAX_HASH_SPAN_ANY_LEVEL, PROFILE_NAMES, LevelLimits, check_sequence_header
from .semantic_reconstruction import md5_of_packed
from .semantic_temporal import unit_levels, unit_residuals
from .sequence_state import ContextCarry, HashWindow, SequenceState  # noqa: F401 (ContextCarry re-exported)
from .structures import (HASH_ENTRY_KEYFRAME, KEYFRAME_CODEC_RAW, HASH_ENTRY_SEMANTICS, HashEntry,
                         HashUnit, KeyframeUnit, SemanticFrame, SemanticUnit, SequenceHeader,
                         code_compact_sequence_header, code_end_of_sequence_unit, code_hash_unit,
                         code_keyframe_unit, code_semantic_unit, code_sequence_header, raw_picture_size)
from .syntax_coder import SyntaxReader, SyntaxWriter
from .trace import TraceEntry
from .units import (SEQUENCE_HEADER_TYPES, RawUnit, UnitType, frame_unit, header_trace, iter_units,
                    unit_name)


@dataclass
class UnitRecord:
    """Bits spent on one unit, for logs and rate breakdowns."""
    unit_type: int
    num_bytes: int
    first_frame_idx: int | None = None
    num_frames: int = 0


class StreamWriter:
    """Writes a conforming stream unit by unit (spec 6.3, 7.3). The caller supplies levels;
    the writer forms residuals against its own reconstruction (closed loop, 8.3.4) and drives
    the same SequenceState as the parser."""

    def __init__(self, sh: SequenceHeader, trace: list[TraceEntry] | None = None) -> None:
        self.sh = sh
        self.trace = trace
        self.limits = check_sequence_header(sh)
        self.state = SequenceState(sh, self.limits, self.limits.max_hash_span)
        self.records: list[UnitRecord] = []
        self._chunks: list[bytes] = []
        if sh.compact_form:
            self._emit(UnitType.COMPACT_SEQUENCE_HEADER, lambda c: code_compact_sequence_header(c, sh))
        else:
            self._emit(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, sh))

    @property
    def next_frame_idx(self) -> int:
        """NextFrameIdx (spec 8.3.1): the index the next carried or inferred frame gets."""
        return self.state.next_frame_idx

    def _emit(self, unit_type: int, code, first: int | None = None, frames: int = 0) -> bytes:  # type: ignore[no-untyped-def]
        start = len(self.trace) if self.trace is not None else 0
        c = SyntaxWriter(self.trace)
        code(c)
        payload = c.getvalue()
        unit = frame_unit(unit_type, payload)
        if self.trace is not None:   # payload positions -> stream positions, as the parser's
            at = sum(len(u) for u in self._chunks)
            header = len(unit) - len(payload)
            self.trace[start:] = header_trace(unit_type, at, header, len(payload)) + [
                replace(t, bit_pos=t.bit_pos + 8 * (at + header)) for t in self.trace[start:]]
        self.records.append(UnitRecord(unit_type, len(unit), first, frames))
        self._chunks.append(unit)
        self.state.num_bytes += len(unit)
        return unit

    def keyframe(self, picture_payload: bytes, ref_levels: list[int], *, codec_id: int | None = None,
                 geometry_version: int = 0, geometry_payload: bytes = b"",
                 frame_idx_delta: int = 0, extension_data: bytes = b"") -> bytes:
        """Writes a key-frame unit (spec 7.3.4) with kf_frame_idx_delta inferred frames before it
        (8.3.3) and the level limits of Annex A; extension_data: kf_extension_data_byte (7.4.3)."""
        if len(picture_payload) > self.limits.max_picture_payload:
            raise BitstreamError(f"key-frame payload of {len(picture_payload)} bytes exceeds level "
                                 f"{self.sh.sh_level_idc} ({self.limits.max_picture_payload})")
        if len(geometry_payload) > self.limits.max_geometry_payload:
            raise BitstreamError(f"geometry payload of {len(geometry_payload)} bytes exceeds level "
                                 f"{self.sh.sh_level_idc} ({self.limits.max_geometry_payload})")
        self._check_levels(ref_levels, "kf_ref_sem_level")
        kf = KeyframeUnit(frame_idx_delta, self.sh.sh_keyframe_codec_id if codec_id is None else codec_id,
                          list(ref_levels), geometry_version, geometry_payload, picture_payload,
                          kf_extension_data=extension_data)
        self._check_gap(frame_idx_delta, "kf_frame_idx_delta",
                        lambda c: code_keyframe_unit(c, kf, self.sh), UnitType.KEYFRAME)
        # Everything is validated before the writer's state changes (a rejected unit leaves none).
        self.state.infer_frames(frame_idx_delta)
        unit = self._emit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, self.sh),
                          self.state.next_frame_idx, 1)
        self.state.keyframe(ref_levels)
        return unit

    def _check_levels(self, levels: list[int], name: str) -> None:
        if len(levels) != self.sh.num_sem_elements:
            raise BitstreamError(f"{name}: {len(levels)} levels, expected {self.sh.num_sem_elements}")
        for i, level in enumerate(levels):
            lo, hi = self.sh.level_bounds(i)
            if not lo <= level <= hi:
                raise BitstreamError(f"cannot write: {name}[{i}] = {level} out of range [{lo}, {hi}]",
                                     element=f"{name}[{i}]")

    def _check_gap(self, delta: int, name: str, code: Callable[[SyntaxWriter], object],
                   unit_type: int) -> None:
        """The level limits on inferred frames (Annex A.3), for a unit that code() writes. The
        budget counts the unit's own bytes: when the bytes written so far do not suffice, the
        unit is coded once more on the side to learn its size (no state changes)."""
        if self.state.frame_idx_delta_problem(delta, name) is None:
            return
        trial = SyntaxWriter()
        code(trial)
        size = self.state.num_bytes + len(frame_unit(unit_type, trial.getvalue()))
        problem = self.state.frame_idx_delta_problem(delta, name, size)
        if problem is not None:
            raise BitstreamError(f"cannot write: {problem}", element=name)

    def semantic_unit(self, frames_levels: list[list[int]], frame_idx_delta: int = 0,
                      extension_data: bytes = b"") -> bytes:
        """Writes a semantic unit (spec 7.3.5) of the given frames' levels as residuals (8.3.4),
        after frame_idx_delta inferred frames (8.3.3); extension_data: su_extension_data_byte,
        allowed when sh_su_extension_flag is 1 (7.4.4)."""
        if self.state.prev_levels is None:
            raise BitstreamError("a semantic unit needs a preceding key-frame unit")
        if not 1 <= len(frames_levels) <= self.limits.max_frames_per_unit:
            raise BitstreamError(f"{len(frames_levels)} frames per semantic unit; level "
                                 f"{self.sh.sh_level_idc} allows 1..{self.limits.max_frames_per_unit}")
        for levels in frames_levels:
            self._check_levels(levels, "sem_level")
        # Residuals against PrevLevel (8.3.4); with temporal sub-sampling only the anchors of
        # each group are coded, and the levels between them must be the interpolated ones.
        frames = [SemanticFrame(int(not any(res)), res)
                  for res in unit_residuals(self.sh, self.state.prev_levels, frames_levels)]
        if extension_data and not self.sh.sh_su_extension_flag:
            raise BitstreamError("semantic-unit extension data needs sh_su_extension_flag 1")
        su = SemanticUnit(frame_idx_delta, frames, extension_data)
        self._check_gap(frame_idx_delta, "su_frame_idx_delta",
                        lambda c: code_semantic_unit(c, su, self.sh, self.state.carry.trial_state()),
                        UnitType.SEMANTIC)
        self.state.infer_frames(frame_idx_delta)
        first = self.state.next_frame_idx
        ctx = self.state.carry.for_next_unit()
        unit = self._emit(UnitType.SEMANTIC, lambda c: code_semantic_unit(c, su, self.sh, ctx),
                          first, len(frames))
        for levels in frames_levels:
            self.state.semantic_frame(levels)
        return unit

    def hash_due(self, upcoming_frames: int | None = None) -> bool:
        """True when the next unit could push a frame not yet hashed out of the hash window
        (MaxHashSpan, spec 7.4.6 and Annex A): a caller that wants every frame covered writes a
        hash unit now. upcoming_frames: the frames (inferred and carried) the next unit adds;
        by default the most one unit may add at the stream's level."""
        window = self.state.window
        if not window:
            return False
        if upcoming_frames is None:
            upcoming_frames = self.limits.max_frame_idx_delta + self.limits.max_frames_per_unit
        return len(window) + upcoming_frames > window.span

    def hash_unit(self, keyframe_md5: dict[int, bytes] | None = None,
                  per_frame: bool = False) -> bytes:
        """Covers the frames since the previous hash unit that are still in the hash window
        (all of them when the caller follows hash_due): one semantics MD5 over the whole range
        (or one per frame), plus the given key-frame picture MD5s, whose frames must be key
        frames in that window."""
        window = self.state.window
        for idx in sorted(keyframe_md5 or {}):
            if not window.is_keyframe(idx):
                raise BitstreamError(f"cannot write a key-frame hash entry for frame {idx}: not a key "
                                     "frame in the hash window (spec 7.4.6; see hash_due)")
        entries = []
        idxs = window.frames()
        if idxs:
            runs = [range(i, i + 1) for i in idxs] if per_frame else [idxs]
            for run in runs:
                entries.append(HashEntry(HASH_ENTRY_SEMANTICS, run[0], len(run) - 1,
                                         md5_of_packed(window.packed(run[0], len(run)))))
        for idx, digest in sorted((keyframe_md5 or {}).items()):
            entries.append(HashEntry(HASH_ENTRY_KEYFRAME, idx, 0, digest))
        self.state.hash_unit_done()
        hu = HashUnit(entries=entries)
        return self._emit(UnitType.HASH, lambda c: code_hash_unit(c, hu))

    def end_of_sequence(self) -> bytes:
        """Writes the end-of-sequence unit (spec 7.3.7, 7.4.5)."""
        n = self.sh.sh_num_frames
        if n and n != self.next_frame_idx:
            raise BitstreamError(f"sh_num_frames is {n} but {self.next_frame_idx} frames were written",
                                 element="sh_num_frames")
        return self._emit(UnitType.END_OF_SEQUENCE, code_end_of_sequence_unit)

    def getvalue(self) -> bytes:
        return b"".join(self._chunks)


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------
@dataclass
class ParsedSequenceHeader:
    """A parsed sequence header, either form (spec 7.3.3 or 7.3.8; raw.unit_type says which),
    and its level limits (Annex A)."""
    raw: RawUnit
    sh: SequenceHeader
    limits: LevelLimits


@dataclass
class ParsedKeyframe:
    """A parsed key-frame unit (spec 7.3.4), its FrameIdx and levels (8.3.2) and the
    frames inferred before it (8.3.3)."""
    raw: RawUnit
    frame_idx: int
    kf: KeyframeUnit
    levels: list[int]
    inferred_before: list[tuple[int, list[int]]] = field(default_factory=list)


@dataclass
class DecodedSemanticFrame:
    """The levels of one frame (spec 8.3.3 or 8.3.4)."""
    frame_idx: int
    levels: list[int]
    skip: bool
    inferred: bool       # frame carried by a frame index delta, not coded


@dataclass
class ParsedSemanticUnit:
    """A parsed semantic unit (spec 7.3.5) and the levels of its frames (8.3)."""
    raw: RawUnit
    su: SemanticUnit
    frames: list[DecodedSemanticFrame]


@dataclass
class HashCheck:
    """The result of one hash entry (spec 7.4.6, 8.5)."""
    entry: HashEntry
    matches: bool | None   # None: a key-frame picture hash, checked by the picture decoder


@dataclass
class ParsedHash:
    """A parsed hash unit (spec 7.3.6) and its checks (8.5)."""
    raw: RawUnit
    hu: HashUnit
    checks: list[HashCheck]


@dataclass
class ParsedEndOfSequence:
    """A parsed end-of-sequence unit (spec 7.3.7)."""
    raw: RawUnit


@dataclass
class SkippedUnit:
    """A unit of a reserved type, skipped (spec 7.4.1)."""
    raw: RawUnit


ParsedUnit = Union[ParsedSequenceHeader, ParsedKeyframe, ParsedSemanticUnit, ParsedHash,
                   ParsedEndOfSequence, SkippedUnit]


class StreamParser:
    """Parses a stream unit by unit (low delay: each unit is usable when it is parsed),
    reconstructs the integer semantics and checks every constraint it can (clauses 7, 8.3
    and 9; integers only, no pictures).

    ``StreamParser().parse(data)`` yields one ``Parsed*`` object per unit
    (``ParsedSequenceHeader``, ``ParsedKeyframe``, ``ParsedSemanticUnit``, ``ParsedHash``,
    ``ParsedEndOfSequence``; reserved unit types are skipped, 7.4.1) and raises
    ``BitstreamError`` (naming the element and bit position) at the first violation. For a
    live stream, feed ``parse_unit(raw)`` with units from ``bitstream.units.iter_units`` and
    call ``finish()`` at the end. ``trace``: a list that receives one ``TraceEntry`` per
    syntax element (what ``ifvc-dump`` prints). Key-frame pictures are decoded by the
    ``ref_decoder`` (8.4), not here."""

    def __init__(self, trace: list[TraceEntry] | None = None, check_profile: bool = True) -> None:
        self.trace = trace
        self.check_profile = check_profile
        self.sh: SequenceHeader | None = None
        self.first_unit_type: int = UnitType.SEQUENCE_HEADER   # which header form started the stream
        self.limits: LevelLimits | None = None
        self.state: SequenceState | None = None   # from the sequence header on (spec 6.3)
        self._ended = False

    @property
    def next_frame_idx(self) -> int:
        """NextFrameIdx (spec 8.3.1)."""
        return 0 if self.state is None else self.state.next_frame_idx

    @property
    def _window(self) -> HashWindow:
        assert self.state is not None
        return self.state.window

    @property
    def hash_window_first(self) -> int:
        """The lowest FrameIdx a hash entry may still cover (spec 7.4.6)."""
        if self.state is None or not self.state.window:
            return self.next_frame_idx
        return self.state.window.first

    def parse(self, data: bytes) -> Iterator[ParsedUnit]:
        """All units of a complete stream, then the end-of-stream checks of finish()."""
        if not data:
            raise BitstreamError("empty stream: no sequence header")
        for raw in iter_units(data):
            yield self.parse_unit(raw)
        self.finish()

    def finish(self) -> None:
        """Checks that need the whole coded sequence (spec 6.3)."""
        if self.sh is None:
            raise BitstreamError("the stream holds no sequence header")
        n = self.sh.sh_num_frames
        if n and n != self.next_frame_idx:
            raise BitstreamError(f"sh_num_frames is {n} but the stream carries "
                                 f"{self.next_frame_idx} frames", element="sh_num_frames")

    def parse_unit(self, raw: RawUnit) -> ParsedUnit:
        """Unit decoding (spec 8.2): one unit, in stream order (6.2), to its Parsed* object."""
        name = unit_name(raw.unit_type)
        if self._ended:
            raise BitstreamError("unit after END_OF_SEQUENCE", unit=name, bit_pos=8 * raw.offset)
        if self.sh is None and raw.unit_type not in SEQUENCE_HEADER_TYPES:
            raise BitstreamError("the stream does not start with a sequence header "
                                 f"(first unit is {name})", unit=name, bit_pos=8 * raw.offset)
        if self.state is not None:
            self.state.num_bytes += raw.size
        if self.trace is not None:
            self.trace += header_trace(raw.unit_type, raw.offset, raw.header_size, len(raw.payload))
        c = SyntaxReader(raw.payload, trace=self.trace, unit=name, bit_offset=raw.payload_bit_offset)
        if raw.unit_type in SEQUENCE_HEADER_TYPES:
            return self._sequence_header(c, raw)
        if raw.unit_type == UnitType.KEYFRAME:
            return self._keyframe(c, raw)
        if raw.unit_type == UnitType.SEMANTIC:
            return self._semantic(c, raw)
        if raw.unit_type == UnitType.HASH:
            return self._hash(c, raw)
        if raw.unit_type == UnitType.END_OF_SEQUENCE:
            code_end_of_sequence_unit(c)
            self._ended = True
            self.finish()
            return ParsedEndOfSequence(raw)
        return SkippedUnit(raw)   # reserved unit types are skipped (spec 7.4.1)

    def _sequence_header(self, c: SyntaxReader, raw: RawUnit) -> ParsedSequenceHeader:
        """Sequence header in either form (spec 7.3.3, 7.4.2; 7.3.8, 7.4.7), only as the first
        unit (6.2); it starts the state of the coded sequence."""
        if self.sh is not None:
            if raw.unit_type == UnitType.COMPACT_SEQUENCE_HEADER:
                raise c.error("a COMPACT_SEQUENCE_HEADER unit is allowed only as the first unit of a "
                              f"stream (this stream started with {unit_name(self.first_unit_type)}, "
                              f"{PROFILE_NAMES.get(self.sh.sh_profile_idc, 'unknown')} profile)",
                              "sh_signature", 0)
            raise c.error("a second sequence header in one coded sequence", "sh_signature", 0)
        self.first_unit_type = raw.unit_type
        code = (code_compact_sequence_header if raw.unit_type == UnitType.COMPACT_SEQUENCE_HEADER
                else code_sequence_header)
        sh = code(c, SequenceHeader())
        limits = check_sequence_header(sh) if self.check_profile else None
        self.sh, self.limits = sh, limits
        self.state = SequenceState(sh, limits, MAX_HASH_SPAN_ANY_LEVEL if limits is None
                                   else limits.max_hash_span)
        self.state.num_bytes = raw.size
        return ParsedSequenceHeader(raw, sh, limits)  # type: ignore[arg-type]

    def _infer_gap(self, delta: int, c: SyntaxReader, name: str) -> list[tuple[int, list[int]]]:
        """Inferred frames of a frame index delta (spec 8.3.3), within the level limits (A.3)."""
        assert self.state is not None
        problem = self.state.frame_idx_delta_problem(delta, name)
        if problem is not None:
            raise c.error(problem, name, 0)
        return self.state.infer_frames(delta)

    def _keyframe(self, c: SyntaxReader, raw: RawUnit) -> ParsedKeyframe:
        """Key-frame unit (spec 7.3.4, 7.4.3; levels 8.3.2)."""
        sh, state = self.sh, self.state
        assert sh is not None and state is not None
        kf = code_keyframe_unit(c, KeyframeUnit(), sh)
        if self.limits is not None:
            if kf.kf_codec_id != sh.sh_keyframe_codec_id:
                raise c.error(f"kf_codec_id {kf.kf_codec_id} differs from sh_keyframe_codec_id "
                              f"{sh.sh_keyframe_codec_id}", "kf_codec_id", 0)
            if len(kf.kf_picture_payload) > self.limits.max_picture_payload:
                raise c.error(f"kf_picture_size {len(kf.kf_picture_payload)} exceeds level limit "
                              f"{self.limits.max_picture_payload}", "kf_picture_size", 0)
            if len(kf.kf_geometry_payload) > self.limits.max_geometry_payload:
                raise c.error(f"kf_geometry_size {len(kf.kf_geometry_payload)} exceeds level "
                              f"limit {self.limits.max_geometry_payload}", "kf_geometry_size", 0)
        if kf.kf_codec_id == KEYFRAME_CODEC_RAW and len(kf.kf_picture_payload) != raw_picture_size(sh):
            raise c.error(f"kf_picture_size {len(kf.kf_picture_payload)} of a raw key frame is not "
                          f"the picture size {raw_picture_size(sh)} (spec 8.4.1)", "kf_picture_size", 0)
        inferred = self._infer_gap(kf.kf_frame_idx_delta, c, "kf_frame_idx_delta")
        idx = state.keyframe(kf.kf_ref_sem_level)
        return ParsedKeyframe(raw, idx, kf, list(kf.kf_ref_sem_level), inferred)

    def _semantic(self, c: SyntaxReader, raw: RawUnit) -> ParsedSemanticUnit:
        """Semantic unit (spec 7.3.5, 7.4.4; CABAC 9.3; levels 8.3.3, 8.3.4)."""
        sh, state = self.sh, self.state
        assert sh is not None and state is not None
        if state.prev_levels is None:
            raise c.error("semantic unit before the first key-frame unit", None, 0)
        ctx = state.carry.for_next_unit()
        su = code_semantic_unit(c, SemanticUnit(), sh, ctx)
        if self.limits is not None and len(su.frames) > self.limits.max_frames_per_unit:
            raise c.error(f"{len(su.frames)} frames in one semantic unit exceed level limit "
                          f"{self.limits.max_frames_per_unit}", "su_num_frames_minus1", 0)
        out = [DecodedSemanticFrame(i, lv, True, True)
               for i, lv in self._infer_gap(su.su_frame_idx_delta, c, "su_frame_idx_delta")]
        try:
            decoded = unit_levels(sh, state.prev_levels, [frame.sem_res for frame in su.frames],
                                  state.next_frame_idx)
        except BitstreamError as exc:
            raise exc.with_context(unit="SEMANTIC", bit_offset=raw.payload_bit_offset) from None
        for frame, levels in zip(su.frames, decoded):
            idx = state.semantic_frame(levels)
            out.append(DecodedSemanticFrame(idx, levels, bool(frame.sf_skip_flag), False))
        return ParsedSemanticUnit(raw, su, out)

    def _hash(self, c: SyntaxReader, raw: RawUnit) -> ParsedHash:
        hu = code_hash_unit(c, HashUnit())
        checks = []
        # Entries of the same hu_entry_type do not overlap; a semantics entry and a key-frame
        # entry may cover the same frame (spec 7.4.6).
        covered: set[int] = set()       # frames covered by semantics entries
        keyframes: set[int] = set()     # frames covered by key-frame entries
        for e in hu.entries:
            if e.hu_entry_type == HASH_ENTRY_KEYFRAME:
                self._check_covered(c, e.hu_first_frame_idx, "hu_first_frame_idx")
                if not self._window.is_keyframe(e.hu_first_frame_idx):
                    raise c.error(f"key-frame hash entry names frame {e.hu_first_frame_idx}, which "
                                  "is not a key frame decoded since the previous hash unit",
                                  "hu_first_frame_idx", 0)
                if e.hu_first_frame_idx in keyframes:
                    raise c.error(f"key-frame hash entries of one hash unit overlap (frame "
                                  f"{e.hu_first_frame_idx} twice)", "hu_first_frame_idx", 0)
                keyframes.add(e.hu_first_frame_idx)
                checks.append(HashCheck(e, None))
                continue
            first, count = e.hu_first_frame_idx, e.hu_num_frames_minus1 + 1
            # The window holds consecutive frames: checking both ends checks the range, and
            # the work stays linear in the frames covered.
            self._check_covered(c, first, "hu_first_frame_idx")
            self._check_covered(c, first + count - 1, "hu_num_frames_minus1")
            idxs = range(first, first + count)
            if covered.intersection(idxs):
                raise c.error("semantics hash entries of one hash unit overlap", "hu_first_frame_idx", 0)
            covered.update(idxs)
            checks.append(HashCheck(e, md5_of_packed(self._window.packed(first, count)) == e.hu_md5))
        self.state.hash_unit_done()   # type: ignore[union-attr]
        return ParsedHash(raw, hu, checks)

    def _check_covered(self, c: SyntaxReader, idx: int, name: str) -> None:
        """A frame a hash entry covers: decoded since the previous hash unit, and at most
        MaxHashSpan frames before this one (spec 7.4.6, Annex A)."""
        if self._window.holds(idx):
            return
        span = self._window.span
        if self.state.since_hash <= idx < self.next_frame_idx - span:
            raise c.error(f"hash entry covers frame {idx}, more than MaxHashSpan ({span}) frames "
                          f"before the hash unit (frame {self.next_frame_idx}; level limit, Annex A)",
                          name, 0)
        raise c.error(f"hash entry covers frame {idx}, which is not a frame decoded "
                      "since the previous hash unit", name, 0)
