"""Annex B elementary streams: split into NAL units and tell the coded picture structure.

Enough of H.266 and H.265 to check an anchor's stream without a decoder: which parameter
sets are present, how many pictures there are, and which pictures are intra-only.

* H.266: NAL header is 2 bytes, nal_unit_type = byte1 >> 3. A picture starts at a picture
  header NAL (PH_NUT 19) or at a slice whose sh_picture_header_in_slice_header_flag is 1; in
  the picture header, ph_inter_slice_allowed_flag == 0 means only I slices.
* H.265: nal_unit_type = (byte0 >> 1) & 63. A picture starts at a slice segment with
  first_slice_segment_in_pic_flag = 1; its slice_type (0 B, 1 P, 2 I) is read from the slice
  header with the help of the PPS's num_extra_slice_header_bits.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bitstream.vvc_headers import nal_rbsp, split_nal_units

VVC_NAMES = {
    0: "TRAIL", 1: "STSA", 2: "RADL", 3: "RASL", 7: "IDR_W_RADL", 8: "IDR_N_LP", 9: "CRA",
    10: "GDR", 12: "OPI", 13: "DCI", 14: "VPS", 15: "SPS", 16: "PPS", 17: "PREFIX_APS",
    18: "SUFFIX_APS", 19: "PH", 20: "AUD", 21: "EOS", 22: "EOB", 23: "PREFIX_SEI",
    24: "SUFFIX_SEI", 25: "FD",
}
HEVC_NAMES = {
    0: "TRAIL_N", 1: "TRAIL_R", 2: "TSA_N", 3: "TSA_R", 4: "STSA_N", 5: "STSA_R",
    6: "RADL_N", 7: "RADL_R", 8: "RASL_N", 9: "RASL_R", 16: "BLA_W_LP", 17: "BLA_W_RADL",
    18: "BLA_N_LP", 19: "IDR_W_RADL", 20: "IDR_N_LP", 21: "CRA", 32: "VPS", 33: "SPS",
    34: "PPS", 35: "AUD", 36: "EOS", 37: "EOB", 38: "FD", 39: "PREFIX_SEI", 40: "SUFFIX_SEI",
}


@dataclass
class StreamStructure:
    """What an elementary stream holds, in decoding order."""

    standard: str                     # "vvc" or "hevc"
    nal_counts: dict[str, int]        # NAL unit type name -> count
    picture_types: list[str] = field(default_factory=list)  # "I" or "inter", one per picture
    irap_pictures: int = 0

    @property
    def pictures(self) -> int:
        return len(self.picture_types)

    @property
    def has_parameter_sets(self) -> bool:
        return self.nal_counts.get("SPS", 0) > 0 and self.nal_counts.get("PPS", 0) > 0

    def is_one_intra_then_inter(self) -> bool:
        """True when picture 0 is the only intra (and the only IRAP) picture."""
        return (bool(self.picture_types) and self.picture_types[0] == "I"
                and all(t == "inter" for t in self.picture_types[1:])
                and self.irap_pictures == 1)

    def summary(self) -> dict[str, object]:
        return {"pictures": self.pictures,
                "intra_pictures": self.picture_types.count("I"),
                "irap_pictures": self.irap_pictures,
                "first_picture": self.picture_types[0] if self.picture_types else None,
                "nal_unit_counts": dict(sorted(self.nal_counts.items()))}


def starts_with_start_code(data: bytes) -> bool:
    return data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")


def analyse(data: bytes, standard: str) -> StreamStructure:
    """Parse the NAL unit structure of a VVC ("vvc") or HEVC ("hevc") Annex B stream."""
    if standard == "vvc":
        return _analyse_vvc(split_nal_units(data))
    if standard == "hevc":
        return _analyse_hevc(split_nal_units(data))
    raise ValueError(f"unknown standard {standard!r}")


class _BitReader:
    """MSB-first reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, rbsp: bytes) -> None:
        self.data, self.pos = rbsp, 0

    def u(self, bits: int) -> int:
        value = 0
        for _ in range(bits):
            byte = self.data[self.pos >> 3] if (self.pos >> 3) < len(self.data) else 0
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)


def _analyse_vvc(units: list[bytes]) -> StreamStructure:
    structure = StreamStructure("vvc", {})
    counts: Counter[str] = Counter()
    for unit in units:
        nut = unit[1] >> 3
        counts[VVC_NAMES.get(nut, f"type{nut}")] += 1
        if nut == 19:  # picture header NAL: the picture_header_structure() starts at once
            structure.picture_types.append(_vvc_ph_type(_BitReader(nal_rbsp(unit))))
        elif nut <= 11:  # VCL
            reader = _BitReader(nal_rbsp(unit))
            if reader.u(1):  # sh_picture_header_in_slice_header_flag
                structure.picture_types.append(_vvc_ph_type(reader))
            if 7 <= nut <= 10:
                structure.irap_pictures += 1
    structure.nal_counts = dict(counts)
    return structure


def _vvc_ph_type(reader: _BitReader) -> str:
    gdr_or_irap = reader.u(1)          # ph_gdr_or_irap_pic_flag
    reader.u(1)                        # ph_non_ref_pic_flag
    if gdr_or_irap:
        reader.u(1)                    # ph_gdr_pic_flag
    inter_allowed = reader.u(1)        # ph_inter_slice_allowed_flag
    return "inter" if inter_allowed else "I"


def _analyse_hevc(units: list[bytes]) -> StreamStructure:
    structure = StreamStructure("hevc", {})
    counts: Counter[str] = Counter()
    extra_bits: dict[int, int] = {}    # pps_pic_parameter_set_id -> num_extra_slice_header_bits
    for unit in units:
        nut = (unit[0] >> 1) & 63
        counts[HEVC_NAMES.get(nut, f"type{nut}")] += 1
        if nut == 34:
            reader = _BitReader(nal_rbsp(unit))
            pps_id = reader.ue()
            reader.ue()                # pps_seq_parameter_set_id
            reader.u(2)                # dependent_slice_segments_enabled, output_flag_present
            extra_bits[pps_id] = reader.u(3)
        elif nut <= 9 or 16 <= nut <= 21:  # VCL slice segment
            reader = _BitReader(nal_rbsp(unit))
            if not reader.u(1):        # first_slice_segment_in_pic_flag
                continue
            irap = 16 <= nut <= 23
            if irap:
                reader.u(1)            # no_output_of_prior_pics_flag
                structure.irap_pictures += 1
            pps_id = reader.ue()
            reader.u(extra_bits.get(pps_id, 0))  # slice_reserved_flag[i]
            slice_type = reader.ue()
            structure.picture_types.append("I" if slice_type == 2 else "inter")
    structure.nal_counts = dict(counts)
    return structure
