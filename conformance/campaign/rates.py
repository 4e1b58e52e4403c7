"""The two rates of a cell: all bits of the stream, and the GFVC CTC's payload-only count.

What the GFVC common software counts (evaluate/getbits.py, bitrate.py, get_anchor_bits.py of
the public AhG16 GFVC software): for a generative codec, the file size of each frame's own
.bin file: frame 0's VTM intra bitstream (a whole Annex B stream, parameter sets and start
codes included) plus every other frame's entropy-coded feature file; nothing else (there is
no container, no sequence header, and the metadata.bin the encoders write is not counted;
sizes, QPs and the model travel out of band in config files). For the VVC anchor, the file
size of the whole VTM bitstream. kbps = bits / 1000 / (frames / 25) in both.

So "payload-only" here is:

* IFVC (spec 7.3.1): the bytes of every unit payload (unit_payload_size bytes) except the
  sequence header (SEQUENCE_HEADER or COMPACT_SEQUENCE_HEADER) and END_OF_SEQUENCE units: KEYFRAME units in full (the key frame's VVC
  bitstream, its geometry and reference semantics: GFVC's frame0000.bin), SEMANTIC units,
  and reserved unit types (none are written; counted, to err on the side of more bits).
  Not counted: each unit's framing (the header byte and the leb128 unit_payload_size), the
  sequence header (GFVC's out-of-band configuration) and the end unit. HASH units are
  counted separately (``hash_bits``); whether the payload includes them is the campaign
  config's switch ``rate.payload_hash_units`` (GFVC streams carry no hashes).
* Anchors (H.266 / H.265 Annex B): the whole elementary stream, as get_anchor_bits.py
  counts it: start codes, parameter sets and every NAL unit, except decoded picture hash
  SEI NAL units (SEI payloadType 132), which are hash data like IFVC's HASH units and
  follow the same switch. Our anchors write none (VVenC and x265 as configured, VTM's
  low-delay cfg), so their payload equals their file size.

All bits of the stream is 8 x the file size, for both, hash units included: the honest
default of this project. Hash units are optional (spec 7.3.6), so every table also reports the
rate without them (``hash_unit_bits``: whole HASH units, unit framing included; anchors: whole
decoded picture hash SEI NAL units, start codes included): ``all_bits - hash_unit_bits``. The
anchors as this project runs them write no decoded picture hash SEI (VVenC through ffmpeg's
libvvenc and x265 do not enable it, VTM's low-delay cfg neither), which the counts measure
rather than assume: their hash_unit_bits are 0 unless a stream carries one.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from bitstream.units import SEQUENCE_HEADER_TYPES, UnitType, iter_units
from bitstream.vvc_headers import nal_rbsp

DECODED_PICTURE_HASH = 132     # SEI payloadType in H.265 (D.2.20) and H.266 (D.7)
SEI_NAL_TYPES = {"vvc": (23, 24), "hevc": (39, 40)}   # PREFIX_SEI, SUFFIX_SEI
_START_CODE = re.compile(b"\x00\x00\x01")
# The GFVC counts for the test conditions, said once for every table.
PAYLOAD_DEFINITION = ("payload-only (as GFVC getbits counts): IFVC unit payloads without unit "
                      "framing, sequence header and end unit; anchors: the whole elementary "
                      "stream")
ALL_BITS_DEFINITION = "all bits of the stream (8 x file size, hash units included)"


@dataclass(frozen=True)
class RateCount:
    """Bits of one stream under both definitions, and what separates them."""

    all_bits: int               # 8 x the file size
    payload_bits: int           # the payload-only count, hash data excluded
    hash_bits: int              # IFVC HASH unit payloads / decoded picture hash SEI NAL units
    overhead_bits: int          # in all_bits but never in the payload: IFVC unit framing,
                                # sequence header and end unit (anchors: 0)
    hash_unit_bits: int = 0     # whole hash units: IFVC HASH units with their framing (the
                                # framing is in overhead_bits too); anchors: = hash_bits

    def all_bits_without_hash(self) -> int:
        """The stream's bits without its (optional) hash units."""
        return self.all_bits - self.hash_unit_bits

    def payload(self, include_hash: bool) -> int:
        return self.payload_bits + (self.hash_bits if include_hash else 0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ifvc_rate(data: bytes) -> RateCount:
    """Both counts of an IFVC stream (units split by bitstream.units, spec 7.3.1)."""
    payload = hashes = overhead = hash_units = 0
    for unit in iter_units(data):
        size = 8 * len(unit.payload)
        overhead += 8 * unit.header_size
        if unit.unit_type in (*SEQUENCE_HEADER_TYPES, UnitType.END_OF_SEQUENCE):
            overhead += size
        elif unit.unit_type == UnitType.HASH:
            hashes += size
            hash_units += 8 * unit.size
        else:
            payload += size
    assert payload + hashes + overhead == 8 * len(data)
    return RateCount(8 * len(data), payload, hashes, overhead, hash_units)


def annexb_spans(data: bytes) -> list[tuple[int, int, bytes]]:
    """(begin, end, NAL unit) for each byte_stream_nal_unit( ) of an Annex B stream (H.266
    and H.265 Annex B): the spans tile the whole stream. A span begins at its start code
    prefix, or at the zero_byte just before it (4-byte start codes); further zero bytes are
    the trailing_zero_8bits of the span before (the first span also takes any leading
    zeros). The NAL unit is without start code and trailing zero bytes."""
    prefixes = [m.start() for m in _START_CODE.finditer(data)]
    begins = [0 if index == 0 else (p - 1 if data[p - 1] == 0 else p)
              for index, p in enumerate(prefixes)]
    spans = []
    for index, start in enumerate(prefixes):
        begin = begins[index]
        end = begins[index + 1] if index + 1 < len(prefixes) else len(data)
        unit = data[start + 3:end].rstrip(b"\x00")
        spans.append((begin, end, unit))
    return spans


def _first_sei_payload_type(nal: bytes) -> int | None:
    """payloadType of the first SEI message of an SEI NAL unit (0xFF bytes, then the last)."""
    rbsp = nal_rbsp(nal)
    value = 0
    for byte in rbsp:
        value += byte
        if byte != 0xFF:
            return value
    return None


def anchor_rate(data: bytes, standard: str) -> RateCount:
    """Both counts of an H.266 ("vvc") or H.265 ("hevc") Annex B stream."""
    if standard not in SEI_NAL_TYPES:
        raise ValueError(f"unknown standard {standard!r}")
    sei_types = SEI_NAL_TYPES[standard]
    hashes = 0
    for begin, end, nal in annexb_spans(data):
        if len(nal) < 3:
            continue
        nal_type = nal[1] >> 3 if standard == "vvc" else (nal[0] >> 1) & 63
        if nal_type in sei_types and _first_sei_payload_type(nal) == DECODED_PICTURE_HASH:
            hashes += 8 * (end - begin)
    return RateCount(8 * len(data), 8 * len(data) - hashes, hashes, 0, hashes)


def kbps(bits: int | float, frames: int, fps: float) -> float:
    """kbit/s of `bits` over `frames` frames at `fps` (GFVC: bits / 1000 / (frames / 25))."""
    return bits / 1000.0 / (frames / fps)
