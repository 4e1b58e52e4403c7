"""Clause 7.4.6: which frames the entries of a hash unit may cover. Entries of the same
hu_entry_type do not overlap; a semantics entry and a key-frame entry may share a frame."""
from __future__ import annotations

import pytest

from bitstream.errors import BitstreamError
from bitstream.semantic_reconstruction import semantics_md5
from bitstream.stream import ParsedHash, StreamParser
from bitstream.structures import HASH_ENTRY_KEYFRAME, HASH_ENTRY_SEMANTICS, HashEntry, HashUnit, code_hash_unit
from bitstream.units import UnitType
from conformance import streams_negative
from conformance.stream_kit import Assembler, coded_unit, raw_keyframe_md5, raw_picture

LEVELS = streams_negative.LEVELS


def _stream(hu: HashUnit) -> bytes:
    sh = streams_negative._sh()
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), LEVELS[0])
    a.semantic(LEVELS[1:5])
    a.semantic(LEVELS[5:9])
    return a.getvalue() + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, hu))


def test_a_semantics_and_a_keyframe_entry_may_cover_the_same_frame() -> None:
    sh = streams_negative._sh()
    hu = HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 8, semantics_md5(LEVELS)),
                           HashEntry(HASH_ENTRY_KEYFRAME, 0, 0, raw_keyframe_md5(sh, raw_picture(sh)))])
    hashes = [u for u in StreamParser().parse(_stream(hu)) if isinstance(u, ParsedHash)]
    assert len(hashes) == 1 and [c.entry.hu_entry_type for c in hashes[0].checks] == [0, 1]
    assert hashes[0].checks[0].matches is True


@pytest.mark.parametrize("built", streams_negative.hash_entries(), ids=lambda b: b.name)
def test_each_hash_rule_is_enforced_by_the_parser(built) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BitstreamError, match=built.error_substring):
        for _ in StreamParser().parse(built.data):
            pass
