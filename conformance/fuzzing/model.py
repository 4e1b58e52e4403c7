"""A stream as the fuzzer sees it: its units, each with its payload and, where the reference
parser could read it, its syntax structure, so that mutations can work on syntax elements
and the stream can be written again with consistent framing and CABAC contexts."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from bitstream.errors import BitstreamError
from bitstream.stream import (ParsedHash, ParsedKeyframe, ParsedSemanticUnit, ParsedSequenceHeader,
                              StreamParser, ContextCarry)
from bitstream.structures import (ENTROPY_CABAC, HashUnit, KeyframeUnit, SemanticUnit, SequenceHeader,
                                  code_hash_unit, code_keyframe_unit, code_semantic_unit,
                                  code_compact_sequence_header, code_sequence_header)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.trace import TraceEntry
from bitstream.bitio import write_leb128
from bitstream.units import MAX_PAYLOAD_SIZE_BYTES, UnitType, iter_units

Structure = SequenceHeader | KeyframeUnit | SemanticUnit | HashUnit


class FuzzWriter(SyntaxWriter):
    """A SyntaxWriter that writes values outside their ranges, and replaces the value of any
    element named in overrides (the syntax loops still follow the structure, so an override
    of a count makes the count and the data disagree, as a corrupt stream would)."""

    def __init__(self, overrides: dict[str, int] | None = None,
                 trace: list[TraceEntry] | None = None) -> None:
        super().__init__(trace)
        self.overrides = overrides or {}

    def _check(self, name, value, lo, hi):  # type: ignore[no-untyped-def, override]
        return None

    def u(self, name, n, value, lo=None, hi=None):  # type: ignore[no-untyped-def, override]
        return super().u(name, n, self.overrides.get(name, value) & ((1 << n) - 1), lo, hi)

    def ue(self, name, value, lo=0, hi=None):  # type: ignore[no-untyped-def, override]
        return super().ue(name, max(0, self.overrides.get(name, value)), lo, hi)

    def se(self, name, value, lo=None, hi=None):  # type: ignore[no-untyped-def, override]
        return super().se(name, self.overrides.get(name, value), lo, hi)

    def ae_decision(self, name, ctx, value):  # type: ignore[no-untyped-def, override]
        return super().ae_decision(name, ctx, self.overrides.get(name, value) & 1)

    def ae_bypass_egk(self, name, value, k, hi=None):  # type: ignore[no-untyped-def, override]
        return super().ae_bypass_egk(name, max(0, self.overrides.get(name, value)), k, hi)


@dataclass
class Unit:
    """One unit: its type, its payload as read, its structure when the parser read it, the
    overrides a mutation set on its elements, and an optional replacement of its header bytes
    (unit header + leb128 unit_payload_size, given the payload size) for framing mutations."""
    unit_type: int
    payload: bytes
    structure: Structure | None = None
    overrides: dict[str, int] | None = None
    header: Callable[[int], bytes] | None = None   # payload size -> header bytes
    dirty: bool = False          # the structure changed: write it again

    def clone(self) -> "Unit":
        return Unit(self.unit_type, self.payload, copy.deepcopy(self.structure),
                    dict(self.overrides) if self.overrides else None, self.header, self.dirty)


@dataclass
class StreamModel:
    units: list[Unit]
    tail: bytes = b""            # bytes after the last unit that frames cleanly

    def copy(self) -> "StreamModel":
        """Units are shared until a mutation replaces one (mutations clone what they change)."""
        return StreamModel(list(self.units), self.tail)

    @property
    def sequence_header(self) -> SequenceHeader | None:
        for u in self.units:
            if isinstance(u.structure, SequenceHeader):
                return u.structure
        return None


def read_model(data: bytes) -> StreamModel:
    """Splits a stream into units and reads the structure of each unit the reference parser
    accepts (up to its first error; the rest stays raw)."""
    units: list[Unit] = []
    pos = 0
    try:
        for raw in iter_units(data):
            units.append(Unit(raw.unit_type, raw.payload))
            pos = raw.offset + raw.size
    except BitstreamError:
        pass
    tail = data[pos:]
    parser = StreamParser(check_profile=False)
    try:
        for k, raw in enumerate(iter_units(data[:pos])):
            parsed = parser.parse_unit(raw)
            if isinstance(parsed, ParsedSequenceHeader):
                units[k].structure = parsed.sh
            elif isinstance(parsed, ParsedKeyframe):
                units[k].structure = parsed.kf
            elif isinstance(parsed, ParsedSemanticUnit):
                units[k].structure = parsed.su
            elif isinstance(parsed, ParsedHash):
                units[k].structure = parsed.hu
    except BitstreamError:
        pass
    return StreamModel(units, tail)


def _fit(values: list[int], n: int) -> list[int]:
    return (values + [0] * n)[:n]


def _write_structure(unit: Unit, sh: SequenceHeader | None, carry: ContextCarry | None,
                     trace: list[TraceEntry] | None = None) -> bytes:
    """The unit's payload written from its structure (the header in force decides the
    element count; the carried CABAC state decides the contexts), as the parser reads it."""
    # A copy: the counts are fitted to the header in force, and an unowned unit's structure is
    # shared with the corpus (a spliced unit under another header would change the corpus, and
    # with it every later mutation: the same seed and index must give the same stream).
    s = copy.deepcopy(unit.structure)
    w = FuzzWriter(unit.overrides, trace)
    if isinstance(s, SequenceHeader):
        (code_compact_sequence_header if s.compact_form else code_sequence_header)(w, s)
    elif sh is None:
        return unit.payload
    elif isinstance(s, KeyframeUnit):
        s.kf_ref_sem_level = _fit(s.kf_ref_sem_level, sh.num_sem_elements)
        code_keyframe_unit(w, s, sh)
    elif isinstance(s, SemanticUnit):
        for f in s.frames:
            f.sem_res = _fit(f.sem_res, sh.num_sem_elements)
        ctx = carry.for_next_unit() if carry is not None else None
        if sh.sh_entropy_coding_mode == ENTROPY_CABAC and ctx is None:
            return unit.payload
        code_semantic_unit(w, s, sh, ctx)
    elif isinstance(s, HashUnit):
        code_hash_unit(w, s)
    else:
        return unit.payload
    return w.getvalue()


def write_model(model: StreamModel) -> bytes:
    """The stream bytes. Only when some unit changed structurally are the structured units
    written again, all in order, so that CABAC contexts carried across units stay consistent
    with the parser's (spec 9.3.1); untouched streams keep their payloads byte for byte."""
    rewrite = any(u.dirty or u.overrides for u in model.units)
    out = bytearray()
    sh: SequenceHeader | None = None
    carry: ContextCarry | None = None
    for u in model.units:
        payload = u.payload
        if rewrite and u.structure is not None:
            try:
                payload = _write_structure(u, sh, carry) or u.payload
            except (BitstreamError, ValueError, IndexError, KeyError, OverflowError):
                payload = u.payload      # a structure this header cannot express: keep the bytes
        if isinstance(u.structure, SequenceHeader) and sh is None:
            sh = u.structure
            carry = ContextCarry(sh)
        elif u.unit_type == UnitType.KEYFRAME and carry is not None:
            carry.pending_reset = True
        out += (u.header or _conforming_header(u.unit_type))(len(payload))
        out += payload
    return bytes(out + model.tail)


def _conforming_header(unit_type: int) -> Callable[[int], bytes]:
    """unit_header( ) and unit_payload_size as a conforming writer frames them."""
    return lambda size: bytes([(unit_type & 0x1F) << 2]) + write_leb128(size, MAX_PAYLOAD_SIZE_BYTES)


def element_trace(model: StreamModel, index: int) -> list[TraceEntry]:
    """The syntax elements of unit index as written from its structure (names, descriptors,
    values): what an element mutation chooses from. Fresh CABAC contexts suffice here: they
    change the bits, not the elements."""
    sh = model.sequence_header
    carry = ContextCarry(sh) if sh is not None else None
    trace: list[TraceEntry] = []
    try:
        _write_structure(model.units[index].clone(), sh, carry, trace)
    except (BitstreamError, ValueError, IndexError, KeyError, OverflowError):
        return []
    return trace
