"""The picture format of an H.266 (VVC) key-frame payload, read from its parameter sets
(spec 8.4.2), so that a decoded picture is never reinterpreted: the format comes from the
stream itself, not from the number of bytes an external decoder outputs.

Only what the check needs is parsed (ITU-T H.266 clauses 7.3.1 and 7.3.2): the Annex B byte
stream and NAL unit headers, emulation prevention, the SPS up to sps_bitdepth_minus8
(profile_tier_level and the subpicture layout included, since they come before it), the
PPS up to its conformance window, and the picture header up to ph_pic_parameter_set_id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .bitio import BitReader
from .errors import BitstreamError

NUT_PH = 19                 # picture header NAL unit
NUT_SPS, NUT_PPS = 15, 16
MAX_VCL_NUT = 11            # nal_unit_type 0..11: coded slices (and reserved VCL types)
SUB_WIDTH_C = {0: 1, 1: 2, 2: 2, 3: 1}     # by sps_chroma_format_idc (H.266 Table 2)
SUB_HEIGHT_C = {0: 1, 1: 2, 2: 1, 3: 1}
_START_CODE = re.compile(b"\x00\x00\x01")


def _error(msg: str) -> BitstreamError:
    return BitstreamError(f"the VVC key frame: {msg}", element="kf_picture_byte")


def split_nal_units(data: bytes) -> list[bytes]:
    """NAL units (header included, emulation prevention kept) of an Annex B byte stream:
    the bytes between start codes, without the zero bytes that precede a start code."""
    starts = [m.end() for m in _START_CODE.finditer(data)]
    units = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        units.append(data[start:end].rstrip(b"\x00"))
    return [u for u in units if u]


def nal_rbsp(nal: bytes) -> bytes:
    """The RBSP of a NAL unit (its 2-byte header removed): every emulation_prevention_three_byte
    (a 0x03 that follows two zero bytes) is dropped."""
    out = bytearray()
    zeros = 0
    for byte in nal[2:]:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


@dataclass(frozen=True)
class NalUnitHeader:
    """nal_unit_header( ) of H.266 (7.3.1.2)."""
    nuh_layer_id: int
    nal_unit_type: int
    nuh_temporal_id_plus1: int


def nal_unit_header(nal: bytes) -> NalUnitHeader:
    if len(nal) < 2:
        raise _error("a NAL unit shorter than its 2-byte header")
    r = BitReader(nal[:2])
    if r.read_bit():
        raise _error("forbidden_zero_bit of a NAL unit header is 1")
    r.read_bit()                                   # nuh_reserved_zero_bit
    layer, nut, tid = r.read_bits(6), r.read_bits(5), r.read_bits(3)
    if tid == 0:
        raise _error("nuh_temporal_id_plus1 of a NAL unit header is 0")
    return NalUnitHeader(layer, nut, tid)


@dataclass(frozen=True)
class Sps:
    """The SPS fields that fix the picture format (H.266 7.3.2.4)."""
    sps_seq_parameter_set_id: int
    sps_chroma_format_idc: int
    sps_pic_width_max_in_luma_samples: int
    sps_pic_height_max_in_luma_samples: int
    conf_win: tuple[int, int, int, int]    # sps_conf_win_left/right/top/bottom_offset
    sps_bitdepth_minus8: int
    bitdepth_bit_pos: int                  # where sps_bitdepth_minus8 starts in the RBSP


@dataclass(frozen=True)
class Pps:
    """The PPS fields up to the conformance window (H.266 7.3.2.5)."""
    pps_pic_parameter_set_id: int
    pps_seq_parameter_set_id: int
    pps_pic_width_in_luma_samples: int
    pps_pic_height_in_luma_samples: int
    conf_win: tuple[int, int, int, int] | None   # None: pps_conformance_window_flag 0


def _ceil_log2(x: int) -> int:
    return (x - 1).bit_length() if x > 1 else 0


def _skip_profile_tier_level(r: BitReader, max_sublayers_minus1: int) -> None:
    """profile_tier_level( 1, sps_max_sublayers_minus1 ) (H.266 7.3.3.1), read and dropped."""
    r.read_bits(7 + 1 + 8 + 1 + 1)     # general_profile_idc, tier, level, frame_only, multilayer
    if r.read_bit():                   # gci_present_flag: general_constraints_info( )
        r.read_bits(71)                # the constraint flags and fields of version 1
        r.read_bits(r.read_bits(8))    # gci_num_additional_bits, then those bits
    while not r.byte_aligned():
        r.read_bit()                   # gci_alignment_zero_bit
    present = [r.read_bit() for _ in range(max_sublayers_minus1)]   # ptl_sublayer_level_present_flag
    while not r.byte_aligned():
        r.read_bit()                   # ptl_reserved_zero_bit
    r.read_bits(8 * sum(present))      # sublayer_level_idc
    for _ in range(r.read_bits(8)):    # ptl_num_sub_profiles
        r.read_bits(32)                # general_sub_profile_idc


def _skip_subpic_info(r: BitReader, width: int, height: int, ctb_size: int) -> None:
    """The subpicture layout of the SPS (sps_subpic_info_present_flag 1), read and dropped."""
    num_minus1 = r.read_ue()           # sps_num_subpics_minus1
    if num_minus1 > 0:
        independent = r.read_bit()     # sps_independent_subpics_flag
        same_size = r.read_bit()       # sps_subpic_same_size_flag
        wlen = _ceil_log2((width + ctb_size - 1) // ctb_size)
        hlen = _ceil_log2((height + ctb_size - 1) // ctb_size)
        for i in range(num_minus1 + 1):
            if not same_size or i == 0:
                if i > 0 and width > ctb_size:
                    r.read_bits(wlen)  # sps_subpic_ctu_top_left_x
                if i > 0 and height > ctb_size:
                    r.read_bits(hlen)  # sps_subpic_ctu_top_left_y
                if i < num_minus1 and width > ctb_size:
                    r.read_bits(wlen)  # sps_subpic_width_minus1
                if i < num_minus1 and height > ctb_size:
                    r.read_bits(hlen)  # sps_subpic_height_minus1
            if not independent:
                r.read_bits(2)         # sps_subpic_treated_as_pic_flag, loop_filter_across
    id_len = r.read_ue() + 1           # sps_subpic_id_len_minus1
    if r.read_bit():                   # sps_subpic_id_mapping_explicitly_signalled_flag
        if r.read_bit():               # sps_subpic_id_mapping_present_flag
            r.read_bits(id_len * (num_minus1 + 1))


def parse_sps(rbsp: bytes) -> Sps:
    r = BitReader(rbsp)
    sps_id = r.read_bits(4)
    r.read_bits(4)                     # sps_video_parameter_set_id
    max_sublayers_minus1 = r.read_bits(3)
    chroma = r.read_bits(2)
    ctb_size = 1 << (r.read_bits(2) + 5)
    if r.read_bit():                   # sps_ptl_dpb_hrd_params_present_flag
        _skip_profile_tier_level(r, max_sublayers_minus1)
    r.read_bit()                       # sps_gdr_enabled_flag
    if r.read_bit():                   # sps_ref_pic_resampling_enabled_flag
        r.read_bit()                   # sps_res_change_in_clvs_allowed_flag
    width, height = r.read_ue(), r.read_ue()
    conf_win = (r.read_ue(), r.read_ue(), r.read_ue(), r.read_ue()) if r.read_bit() else (0, 0, 0, 0)
    if r.read_bit():                   # sps_subpic_info_present_flag
        _skip_subpic_info(r, width, height, ctb_size)
    pos = r.bit_pos
    return Sps(sps_id, chroma, width, height, conf_win, r.read_ue(), pos)


def parse_pps(rbsp: bytes) -> Pps:
    r = BitReader(rbsp)
    pps_id, sps_id = r.read_bits(6), r.read_bits(4)
    r.read_bit()                       # pps_mixed_nalu_types_in_pic_flag
    width, height = r.read_ue(), r.read_ue()
    conf_win = (r.read_ue(), r.read_ue(), r.read_ue(), r.read_ue()) if r.read_bit() else None
    return Pps(pps_id, sps_id, width, height, conf_win)


def _ph_pps_id(r: BitReader) -> int:
    """picture_header_structure( ) up to ph_pic_parameter_set_id (H.266 7.3.2.8)."""
    gdr_or_irap = r.read_bit()         # ph_gdr_or_irap_pic_flag
    r.read_bit()                       # ph_non_ref_pic_flag
    if gdr_or_irap:
        r.read_bit()                   # ph_gdr_pic_flag
    if r.read_bit():                   # ph_inter_slice_allowed_flag
        r.read_bit()                   # ph_intra_slice_allowed_flag
    return r.read_ue()


@dataclass(frozen=True)
class VvcPictureFormat:
    """What the H.266 decoding process outputs for the stream's pictures: the cropped
    (conformance window) size, the chroma format and the bit depth."""
    width: int
    height: int
    chroma_format_idc: int
    bit_depth: int
    num_pictures: int


def picture_format(payload: bytes) -> VvcPictureFormat:
    """The format of the first picture of an H.266 Annex B byte stream, from the PPS its
    picture header names and that PPS's SPS (the latest of each id before the picture), and
    the number of pictures (picture header NAL units plus slices that carry their own)."""
    sps: dict[int, Sps] = {}
    pps: dict[int, Pps] = {}
    first: tuple[Sps, Pps] | None = None
    pictures = 0
    try:
        for nal in split_nal_units(payload):
            nut = nal_unit_header(nal).nal_unit_type
            if nut == NUT_SPS:
                s = parse_sps(nal_rbsp(nal))
                sps[s.sps_seq_parameter_set_id] = s
            elif nut == NUT_PPS:
                p = parse_pps(nal_rbsp(nal))
                pps[p.pps_pic_parameter_set_id] = p
            elif nut == NUT_PH or nut <= MAX_VCL_NUT:
                r = BitReader(nal_rbsp(nal))
                if nut != NUT_PH and not r.read_bit():   # sh_picture_header_in_slice_header_flag
                    continue
                pictures += 1
                if first is None:
                    pps_id = _ph_pps_id(r)
                    if pps_id not in pps:
                        raise _error(f"the picture names PPS {pps_id}, which precedes it nowhere")
                    p = pps[pps_id]
                    if p.pps_seq_parameter_set_id not in sps:
                        raise _error(f"PPS {pps_id} names SPS {p.pps_seq_parameter_set_id}, which "
                                     "precedes it nowhere")
                    first = (sps[p.pps_seq_parameter_set_id], p)
    except BitstreamError as exc:
        if exc.reason.startswith("the VVC key frame"):
            raise
        raise _error(f"malformed parameter set or picture header ({exc.reason})") from None
    if first is None:
        raise _error("no coded picture in the payload")
    s, p = first
    win = p.conf_win
    if win is None:   # H.266 7.4.3.5: the SPS window when the picture has the SPS's maximum size
        same = (p.pps_pic_width_in_luma_samples, p.pps_pic_height_in_luma_samples) == (
            s.sps_pic_width_max_in_luma_samples, s.sps_pic_height_max_in_luma_samples)
        win = s.conf_win if same else (0, 0, 0, 0)
    sw, shc = SUB_WIDTH_C[s.sps_chroma_format_idc], SUB_HEIGHT_C[s.sps_chroma_format_idc]
    width = p.pps_pic_width_in_luma_samples - sw * (win[0] + win[1])
    height = p.pps_pic_height_in_luma_samples - shc * (win[2] + win[3])
    if width <= 0 or height <= 0:
        raise _error(f"the conformance window leaves a {width}x{height} picture")
    return VvcPictureFormat(width, height, s.sps_chroma_format_idc, 8 + s.sps_bitdepth_minus8, pictures)


def check_keyframe_format(payload: bytes, width: int, height: int) -> VvcPictureFormat:
    """Spec 8.4.2: exactly one 4:2:0 picture of width x height luma samples at bit depth 8 or
    10. Returns the format; any difference is a one-line BitstreamError."""
    fmt = picture_format(payload)
    if fmt.num_pictures != 1:
        raise _error(f"{fmt.num_pictures} coded pictures, expected exactly one")
    if fmt.chroma_format_idc != 1:
        raise _error(f"sps_chroma_format_idc {fmt.chroma_format_idc}, expected 1 (4:2:0)")
    if (fmt.width, fmt.height) != (width, height):
        raise _error(f"a {fmt.width}x{fmt.height} picture, but the sequence header says "
                     f"{width}x{height}")
    if fmt.bit_depth not in (8, 10):
        raise _error(f"bit depth {fmt.bit_depth} (sps_bitdepth_minus8 {fmt.bit_depth - 8}), "
                     "expected 8 or 10")
    return fmt
