"""Every syntax structure of the specification (spec 7.3), written once for reading and
writing through a SyntaxReader or SyntaxWriter (syntax_coder.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .cabac_contexts import (COMPACT_SKIP_CTX_INIT, MAX_RICE_STAT, NUM_CTX_PER_ELEMENT,
                             SKIP_CTX_INIT, ElementContextInit, ElementContexts,
                             SemanticContextState, compact_element_context_init,
                             default_element_init)
from .generator_registry import GENERATOR_BY_ID, registered_generator_id
from .semantic_groups import NUM_SEM_GROUPS, group_list
from .semantic_elements import (BACKGROUND_ELEMENT_IDS, CORRECTION_ELEMENT_IDS, DEFAULT_BACKGROUND_ELEMENT_IDS,
                                DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID)
from .syntax_coder import SyntaxReader, SyntaxWriter

Coder = SyntaxReader | SyntaxWriter

SH_SIGNATURE = 0x49465643  # "IFVC"
VERSION_MAJOR = 1
VERSION_MINOR = 2          # what streams carry (sh_version_minor): spec 1.2
SPEC_TEXT_VERSION = "1.2 draft"   # the edition of spec/ifvc_spec.md that this code implements

# The first sh_version_minor that defines compact_sequence_header( ) (spec 7.4.7).
COMPACT_MIN_VERSION_MINOR = 2

ENTROPY_EXP_GOLOMB = 0
ENTROPY_CABAC = 1

KEYFRAME_CODEC_RAW = 0   # uncompressed planar samples (spec 8.5.1)
KEYFRAME_CODEC_VVC = 1   # an H.266 elementary stream in Annex B byte-stream format
KEYFRAME_CODEC_NAMES = {KEYFRAME_CODEC_RAW: "raw", KEYFRAME_CODEC_VVC: "vvc"}

HASH_TYPE_MD5 = 0
HASH_ENTRY_SEMANTICS = 0
HASH_ENTRY_KEYFRAME = 1

# Residuals and levels of element ids unknown to this version are bounded by this
# magnitude, so that parsing stays bounded on any input (spec 7.4.3).
UNKNOWN_ELEMENT_MAX_LEVEL = (1 << 24) - 1
MAX_FRAMES_PER_UNIT = 1 << 16
MAX_FRAME_IDX_DELTA = (1 << 16) - 1   # syntax bound; levels bound it further (Annex A)
MAX_EXTENSION_LENGTH = (1 << 28) - 1  # bytes of one extension data field (spec 7.4.2)


# ---------------------------------------------------------------------------------------
# Sequence header
# ---------------------------------------------------------------------------------------
@dataclass
class SequenceHeader:
    """sequence_header( ) (syntax spec 7.3.3, semantics 7.4.2)."""
    sh_version_major: int = VERSION_MAJOR
    sh_version_minor: int = VERSION_MINOR
    sh_profile_idc: int = 1
    sh_level_idc: int = 10
    sh_pic_width: int = 256
    sh_pic_height: int = 256
    sh_frame_rate_num: int = 25
    sh_frame_rate_den: int = 1
    sh_num_frames: int = 0
    sh_chroma_format_idc: int = 3
    sh_bit_depth_minus8: int = 0
    sh_entropy_coding_mode: int = ENTROPY_CABAC
    sh_keyframe_codec_id: int = KEYFRAME_CODEC_VVC
    sh_sem_element_id: list[int] = field(default_factory=list)
    sh_sem_precision: list[int] = field(default_factory=list)
    # Compact profile (spec 1.2 draft): the temporal resolution of each element group, indexed
    # by group (Table 3d); coded for the groups of GroupList when sh_sem_temporal_flag is 1.
    sh_sem_temporal_flag: int = 0
    sh_sem_group_period_minus1: list[int] = field(default_factory=lambda: [0] * NUM_SEM_GROUPS)
    sh_cabac_init_qp: int = 32
    sh_cabac_context_carry_flag: int = 1
    sh_cabac_explicit_init_flag: int = 0
    sh_skip_ctx_init_value: list[int] = field(default_factory=list)
    sh_skip_ctx_shift_idx: list[int] = field(default_factory=list)
    sh_ctx_init_value: list[list[int]] = field(default_factory=list)
    sh_ctx_shift_idx: list[list[int]] = field(default_factory=list)
    sh_rice_stat_init: list[int] = field(default_factory=list)
    sh_generator_name: str = ""
    sh_generator_sha256: bytes = bytes(32)
    # Extension (spec 7.3.3): present when more_payload_data( ) follows sh_generator_sha256_byte.
    sh_extension_present: int = 0
    sh_su_extension_flag: int = 0
    sh_extension_data: bytes = b""
    # Not syntax elements. compact_form: 1 when the header is (to be) coded as
    # compact_sequence_header( ) in a COMPACT_SEQUENCE_HEADER unit (spec 7.3.8), 0 for
    # sequence_header( ) (7.3.3). csh_coded_explicitly: the flags and indices of the compact form
    # whose explicit branch codes a value that the default or table would have given (an
    # encoder's choice; a parser records it, so that writing a parsed header gives its bytes).
    compact_form: int = 0
    csh_coded_explicitly: frozenset[str] = frozenset()

    @property
    def num_sem_elements(self) -> int:
        """NumSemElements (spec 7.2)."""
        return len(self.sh_sem_element_id)

    def level_bounds(self, i: int) -> tuple[int, int]:
        """LevelMin[ i ]..LevelMax[ i ] of the i-th signalled element (spec 7.2)."""
        element = ELEMENT_BY_ID.get(self.sh_sem_element_id[i])
        if element is None:
            return -UNKNOWN_ELEMENT_MAX_LEVEL, UNKNOWN_ELEMENT_MAX_LEVEL
        return element.level_range(self.sh_sem_precision[i])

    def element_inits(self) -> list[ElementContextInit]:
        """initValue, shiftIdx and RiceStat init of each signalled element (spec 9.3.2.2, Tables 10
        and 11, or the explicit values of 7.3.3)."""
        if self.sh_cabac_explicit_init_flag:
            return [ElementContextInit(tuple(v), tuple(s), k) for v, s, k in
                    zip(self.sh_ctx_init_value, self.sh_ctx_shift_idx, self.sh_rice_stat_init)]
        if self._compact():      # semantic-unit syntax 2: Table 10b (spec 1.2 draft)
            return [compact_element_context_init(e) for e in self.sh_sem_element_id]
        return [default_element_init(e) for e in self.sh_sem_element_id]

    def _compact(self) -> bool:
        from .profiles import compact_tools      # profiles imports this module
        return compact_tools(self)

    def skip_ctx_init(self) -> list[tuple[int, int]]:
        """initValue and shiftIdx of the sf_skip_flag contexts (spec 9.3.2.2, Table 9, or explicit)."""
        if self.sh_cabac_explicit_init_flag:
            return list(zip(self.sh_skip_ctx_init_value, self.sh_skip_ctx_shift_idx))
        return list(COMPACT_SKIP_CTX_INIT if self._compact() else SKIP_CTX_INIT)

    def new_context_state(self) -> SemanticContextState:
        """A parsing state of semantic units for this header (spec 9.3.2)."""
        return SemanticContextState(self.element_inits(), self.sh_cabac_init_qp,
                                    self.skip_ctx_init(), self.sh_sem_element_id)

    @property
    def frame_rate(self) -> float:
        """sh_frame_rate_num / sh_frame_rate_den (spec 7.4.2)."""
        return self.sh_frame_rate_num / self.sh_frame_rate_den


def raw_picture_size(sh: SequenceHeader) -> int:
    """Bytes of one raw picture in the output format (spec 8.4.1)."""
    w, h = sh.sh_pic_width, sh.sh_pic_height
    luma = w * h
    chroma = {0: 0, 1: 2 * ((w + 1) // 2) * ((h + 1) // 2), 2: 2 * ((w + 1) // 2) * h,
              3: 2 * luma}[sh.sh_chroma_format_idc]
    return (luma + chroma) * (1 if sh.sh_bit_depth_minus8 == 0 else 2)


def code_sequence_header(c: Coder, sh: SequenceHeader) -> SequenceHeader:
    """sequence_header( ) (spec 7.3.3; semantics and constraints 7.4.2)."""
    c.f("sh_signature", 32, SH_SIGNATURE)
    _code_version(c, sh)
    sh.sh_profile_idc = c.u("sh_profile_idc", 8, sh.sh_profile_idc)
    sh.sh_level_idc = c.u("sh_level_idc", 8, sh.sh_level_idc)
    _code_pic_size(c, sh)
    _code_frame_rate(c, sh)
    sh.sh_num_frames = c.u("sh_num_frames", 32, sh.sh_num_frames)
    _code_picture_format(c, sh)
    sh.sh_entropy_coding_mode = c.u("sh_entropy_coding_mode", 2, sh.sh_entropy_coding_mode, hi=1)
    sh.sh_keyframe_codec_id = c.u("sh_keyframe_codec_id", 8, sh.sh_keyframe_codec_id)
    n = c.u("sh_num_sem_elements", 8, sh.num_sem_elements, lo=1)
    _code_sem_elements(c, sh, n)
    if sh._compact():
        _code_sem_temporal(c, sh)
    else:
        _no_sem_temporal(c, sh)
    if sh.sh_entropy_coding_mode == ENTROPY_CABAC:
        _code_cabac_init(c, sh, n)
    _code_generator_full(c, sh)
    _code_sh_extension(c, sh)
    c.trailing_bits()
    sh.compact_form, sh.csh_coded_explicitly = 0, frozenset()
    return sh


# The tables of compact_sequence_header( ) (spec 7.4.7, Tables 5b and 5c): index 0 codes the
# value explicitly with the elements of sequence_header( ).
CSH_PIC_SIZES: dict[int, tuple[int, int]] = {1: (256, 256), 2: (512, 512), 3: (1024, 1024)}
CSH_FRAME_RATES: dict[int, tuple[int, int]] = {1: (25, 1), 2: (30, 1), 3: (24, 1), 4: (50, 1),
                                               5: (60, 1), 6: (30000, 1001), 7: (24000, 1001)}
MAX_NUM_FRAMES = (1 << 32) - 1                      # sh_num_frames is u(32) in sequence_header( )
CSH_DEFAULT_CABAC_INIT = (32, 1, 0)   # sh_cabac_init_qp, sh_cabac_context_carry_flag, sh_cabac_explicit_init_flag


def _table_index(table: dict[int, tuple[int, int]], value: tuple[int, int]) -> int:
    """The index of value in a table of 7.4.7, or 0 (coded explicitly)."""
    return next((k for k, v in table.items() if v == value), 0)



def named_sem_set(background: int, correction: int) -> tuple[int, ...]:
    """The element set that csh_background_elements_flag and csh_correction_elements_flag name
    (spec 7.4.7): DEFAULT_ELEMENT_IDS, then bg_tx and bg_ty when background is 1, then the 32
    correction elements of Table 3e when correction is 1."""
    return ((DEFAULT_BACKGROUND_ELEMENT_IDS if background else DEFAULT_ELEMENT_IDS)
            + (CORRECTION_ELEMENT_IDS if correction else ()))


NAMED_SEM_SETS: tuple[tuple[int, ...], ...] = tuple(named_sem_set(b, c) for b in (0, 1) for c in (0, 1))


def default_sem_set(sh: SequenceHeader) -> tuple[int, ...] | None:
    """The default element set that sh_sem_element_id is (csh_default_sem_set_flag's condition,
    spec 7.4.7): one of the four sets named_sem_set( ) gives; None for any other list."""
    ids = tuple(sh.sh_sem_element_id)
    return ids if ids in NAMED_SEM_SETS else None


def default_sem_elements(sh: SequenceHeader) -> bool:
    """csh_default_sem_elements_flag's condition: a default element set at Table 3's default
    precisions (spec 7.4.7)."""
    ids = default_sem_set(sh)
    return ids is not None and sh.sh_sem_precision == [ELEMENT_BY_ID[e].default_precision for e in ids]


def code_compact_sequence_header(c: Coder, sh: SequenceHeader) -> SequenceHeader:
    """compact_sequence_header( ) (spec 7.3.8; semantics and constraints 7.4.7): the sequence
    header of a Compact-profile stream, with the common values coded as flags and table indices;
    every value it does not default is coded by the element of sequence_header( ) (7.3.3) that
    carries it there. The result is the same SequenceHeader; the profiles that allow this form
    (the Compact profile, not Main) are checked with the other profile constraints (Annex A)."""
    c.f("sh_signature", 32, SH_SIGNATURE)
    _code_version(c, sh, lo_minor=COMPACT_MIN_VERSION_MINOR)
    sh.sh_profile_idc = c.u("sh_profile_idc", 8, sh.sh_profile_idc)   # which profiles allow it: Annex A
    sh.sh_level_idc = c.u("sh_level_idc", 8, sh.sh_level_idc)
    forced = sh.csh_coded_explicitly        # explicit branches the writer is asked for
    explicit: set[str] = set()              # explicit branches taken for a default value
    _code_table_or_explicit(c, sh, "csh_pic_size_idx", 2, CSH_PIC_SIZES,
                            ("sh_pic_width", "sh_pic_height"), _code_pic_size, forced, explicit)
    _code_table_or_explicit(c, sh, "csh_frame_rate_idx", 3, CSH_FRAME_RATES,
                            ("sh_frame_rate_num", "sh_frame_rate_den"), _code_frame_rate, forced, explicit)
    sh.sh_num_frames = c.ue("csh_num_frames", sh.sh_num_frames, hi=MAX_NUM_FRAMES)

    def flag(name: str, is_default: bool) -> int:
        return c.u(name, 1, int(is_default and name not in forced))

    if flag("csh_default_format_flag", (sh.sh_chroma_format_idc, sh.sh_bit_depth_minus8) == (3, 0)):
        sh.sh_chroma_format_idc, sh.sh_bit_depth_minus8 = 3, 0
    else:
        _code_picture_format(c, sh)
        if (sh.sh_chroma_format_idc, sh.sh_bit_depth_minus8) == (3, 0):
            explicit.add("csh_default_format_flag")
    sh.sh_entropy_coding_mode = c.u("sh_entropy_coding_mode", 2, sh.sh_entropy_coding_mode, hi=1)
    sh.sh_keyframe_codec_id = c.u("csh_keyframe_codec_id", 2, sh.sh_keyframe_codec_id)
    elements_flag = flag("csh_default_sem_elements_flag", default_sem_elements(sh))
    set_flag = elements_flag or flag("csh_default_sem_set_flag", default_sem_set(sh) is not None)
    if set_flag:
        named = default_sem_set(sh) or ()
        background = c.u("csh_background_elements_flag", 1, int(BACKGROUND_ELEMENT_IDS[0] in named))
        correction = c.u("csh_correction_elements_flag", 1, int(CORRECTION_ELEMENT_IDS[0] in named))
        ids = named_sem_set(background, correction)
        n = len(ids)
        if c.reading:
            sh.sh_sem_element_id = list(ids)
            sh.sh_sem_precision = [ELEMENT_BY_ID[e].default_precision for e in ids]
        if not elements_flag:
            for i in range(n):
                sh.sh_sem_precision[i] = c.u(f"sh_sem_precision[{i}]", 4, sh.sh_sem_precision[i],
                                             hi=ELEMENT_BY_ID[sh.sh_sem_element_id[i]].max_precision)
    else:
        n = c.u("sh_num_sem_elements", 8, sh.num_sem_elements, lo=1)
        _code_sem_elements(c, sh, n)
        if default_sem_set(sh) is not None:
            explicit.add("csh_default_sem_set_flag")
    if not elements_flag and default_sem_elements(sh):
        explicit.add("csh_default_sem_elements_flag")
    _code_sem_temporal(c, sh)
    if sh.sh_entropy_coding_mode == ENTROPY_CABAC:
        current = (sh.sh_cabac_init_qp, sh.sh_cabac_context_carry_flag, sh.sh_cabac_explicit_init_flag)
        if flag("csh_cabac_default_init_flag", current == CSH_DEFAULT_CABAC_INIT):
            (sh.sh_cabac_init_qp, sh.sh_cabac_context_carry_flag,
             sh.sh_cabac_explicit_init_flag) = CSH_DEFAULT_CABAC_INIT
        else:
            _code_cabac_init(c, sh, n)
            if (sh.sh_cabac_init_qp, sh.sh_cabac_context_carry_flag,
                    sh.sh_cabac_explicit_init_flag) == CSH_DEFAULT_CABAC_INIT:
                explicit.add("csh_cabac_default_init_flag")
    registered = registered_generator_id(sh.sh_generator_name, sh.sh_generator_sha256)
    if flag("csh_generator_registered_flag", registered is not None):
        start = c.bit_pos
        gid = c.ue("csh_generator_id", registered or 0)
        generator = GENERATOR_BY_ID.get(gid)
        if generator is None:
            raise c.error(f"csh_generator_id {gid} is not a registered generator (Table 3a: "
                          f"{', '.join(f'{k} = {g.name}' for k, g in GENERATOR_BY_ID.items())})",
                          "csh_generator_id", start)
        sh.sh_generator_name, sh.sh_generator_sha256 = generator.name, generator.weights_sha256
    else:
        _code_generator_full(c, sh)
        if registered_generator_id(sh.sh_generator_name, sh.sh_generator_sha256) is not None:
            explicit.add("csh_generator_registered_flag")
    sh.csh_coded_explicitly = frozenset(explicit)
    _code_sh_extension(c, sh)
    c.trailing_bits()
    sh.compact_form = 1
    return sh


def _code_version(c: Coder, sh: SequenceHeader, lo_minor: int = 0) -> None:
    """sh_version_major and sh_version_minor (spec 7.4.2; at least 2 in compact_sequence_header( ),
    7.4.7)."""
    sh.sh_version_major = c.u("sh_version_major", 8, sh.sh_version_major)
    sh.sh_version_minor = c.u("sh_version_minor", 8, sh.sh_version_minor, lo=lo_minor)
    if c.reading and sh.sh_version_major != VERSION_MAJOR:
        raise c.error(f"sh_version_major {sh.sh_version_major} is not supported by this decoder "
                      f"(version {VERSION_MAJOR}.x)", "sh_version_major")


def _code_table_or_explicit(c: Coder, sh: SequenceHeader, name: str, bits: int,
                            table: dict[int, tuple[int, int]], fields: tuple[str, str],
                            code_explicit: Callable[[Coder, SequenceHeader], None],
                            forced: set[str], explicit: set[str]) -> None:
    """csh_pic_size_idx or csh_frame_rate_idx (spec 7.3.8, 7.4.7): an index into Table 3b or 3c,
    or 0 and the two values coded explicitly. forced: indices the writer is asked to code as 0;
    explicit collects those a parsed header coded as 0 although the table has the values."""
    value = (getattr(sh, fields[0]), getattr(sh, fields[1]))
    idx = c.u(name, bits, 0 if name in forced else _table_index(table, value))
    if idx:
        for field_name, v in zip(fields, table[idx]):
            setattr(sh, field_name, v)
        return
    code_explicit(c, sh)
    if _table_index(table, (getattr(sh, fields[0]), getattr(sh, fields[1]))):
        explicit.add(name)


def _code_pic_size(c: Coder, sh: SequenceHeader) -> None:
    """sh_pic_width, sh_pic_height (spec 7.3.3, 7.3.8)."""
    sh.sh_pic_width = c.u("sh_pic_width", 16, sh.sh_pic_width, lo=16)
    sh.sh_pic_height = c.u("sh_pic_height", 16, sh.sh_pic_height, lo=16)


def _code_frame_rate(c: Coder, sh: SequenceHeader) -> None:
    """sh_frame_rate_num, sh_frame_rate_den (spec 7.3.3, 7.3.8)."""
    sh.sh_frame_rate_num = c.u("sh_frame_rate_num", 16, sh.sh_frame_rate_num, lo=1)
    sh.sh_frame_rate_den = c.u("sh_frame_rate_den", 16, sh.sh_frame_rate_den, lo=1)


def _code_picture_format(c: Coder, sh: SequenceHeader) -> None:
    """sh_chroma_format_idc, sh_bit_depth_minus8 (spec 7.3.3, 7.3.8)."""
    sh.sh_chroma_format_idc = c.u("sh_chroma_format_idc", 2, sh.sh_chroma_format_idc)
    sh.sh_bit_depth_minus8 = c.u("sh_bit_depth_minus8", 4, sh.sh_bit_depth_minus8, hi=8)


def _code_sem_elements(c: Coder, sh: SequenceHeader, n: int) -> None:
    """The n pairs sh_sem_element_id[ i ], sh_sem_precision[ i ] (spec 7.3.3, 7.3.8; 7.4.2: no id
    twice, precision at most the element's maximum)."""
    if c.reading:
        sh.sh_sem_element_id = [0] * n
        sh.sh_sem_precision = [0] * n
    seen: set[int] = set()
    for i in range(n):
        eid = c.u(f"sh_sem_element_id[{i}]", 8, sh.sh_sem_element_id[i])
        if eid in seen:
            raise_or_fail(c, f"sh_sem_element_id[{i}] = {eid} appears twice", f"sh_sem_element_id[{i}]")
        seen.add(eid)
        element = ELEMENT_BY_ID.get(eid)
        max_p = element.max_precision if element else 15
        sh.sh_sem_element_id[i] = eid
        sh.sh_sem_precision[i] = c.u(f"sh_sem_precision[{i}]", 4, sh.sh_sem_precision[i], hi=max_p)


def _code_sem_temporal(c: Coder, sh: SequenceHeader) -> None:
    """sh_sem_temporal_flag and sh_sem_group_period_minus1[ g ] of each group of GroupList
    (spec 7.3.3, 7.3.8; semantics 7.4.2): the Compact profile's temporal resolution per group."""
    if not c.reading:
        _check_periods(sh)
    flag = c.u("sh_sem_temporal_flag", 1, sh.sh_sem_temporal_flag)
    periods = [0] * NUM_SEM_GROUPS
    if flag:
        for g in group_list(sh.sh_sem_element_id):
            periods[g] = c.u(f"sh_sem_group_period_minus1[{g}]", 2, sh.sh_sem_group_period_minus1[g])
    sh.sh_sem_temporal_flag, sh.sh_sem_group_period_minus1 = flag, periods


def _no_sem_temporal(c: Coder, sh: SequenceHeader) -> None:
    """A Main-profile header has no temporal resolution fields: every SemPeriod is 1."""
    if not c.reading and (sh.sh_sem_temporal_flag or any(sh.sh_sem_group_period_minus1)):
        raise ValueError("sh_sem_temporal_flag needs the Compact profile (sh_profile_idc 2)")
    sh.sh_sem_temporal_flag, sh.sh_sem_group_period_minus1 = 0, [0] * NUM_SEM_GROUPS


def _check_periods(sh: SequenceHeader) -> None:
    periods = sh.sh_sem_group_period_minus1
    if len(periods) != NUM_SEM_GROUPS or not all(0 <= p <= 3 for p in periods):
        raise ValueError(f"sh_sem_group_period_minus1 must hold {NUM_SEM_GROUPS} values 0..3, not {periods}")
    present = set(group_list(sh.sh_sem_element_id))
    if any(p for g, p in enumerate(periods) if g not in present or not sh.sh_sem_temporal_flag):
        raise ValueError("sh_sem_group_period_minus1 is coded only for the groups of GroupList "
                         "when sh_sem_temporal_flag is 1; the others must be 0")


def _code_cabac_init(c: Coder, sh: SequenceHeader, n: int) -> None:
    """sh_cabac_init_qp, sh_cabac_context_carry_flag, sh_cabac_explicit_init_flag and the
    explicit tables (spec 7.3.3, 7.3.8)."""
    sh.sh_cabac_init_qp = c.u("sh_cabac_init_qp", 6, sh.sh_cabac_init_qp)
    sh.sh_cabac_context_carry_flag = c.u("sh_cabac_context_carry_flag", 1,
                                         sh.sh_cabac_context_carry_flag)
    sh.sh_cabac_explicit_init_flag = c.u("sh_cabac_explicit_init_flag", 1,
                                         sh.sh_cabac_explicit_init_flag)
    if sh.sh_cabac_explicit_init_flag:
        _code_explicit_init(c, sh, n)


def _code_generator_full(c: Coder, sh: SequenceHeader) -> None:
    """sh_generator_name_length, sh_generator_name_byte, sh_generator_sha256_byte (spec 7.3.3,
    7.3.8)."""
    name_bytes = sh.sh_generator_name.encode("ascii") if not c.reading else b""
    length = c.u("sh_generator_name_length", 8, len(name_bytes))
    chars = []
    for i in range(length):
        chars.append(c.u(f"sh_generator_name_byte[{i}]", 8, name_bytes[i] if not c.reading else 0,
                         lo=0x20, hi=0x7E))
    sh.sh_generator_name = bytes(chars).decode("ascii")
    digest = []
    for i in range(32):
        digest.append(c.u(f"sh_generator_sha256_byte[{i}]", 8,
                          sh.sh_generator_sha256[i] if not c.reading else 0))
    sh.sh_generator_sha256 = bytes(digest)


def _code_sh_extension(c: Coder, sh: SequenceHeader) -> None:
    """The extension block of either sequence header form (spec 7.3.3, 7.3.8; 7.4.2)."""
    present = sh.sh_extension_present or sh.sh_su_extension_flag or sh.sh_extension_data
    sh.sh_extension_present = int(c.more_payload_data(bool(present)))
    if sh.sh_extension_present:
        sh.sh_su_extension_flag = c.u("sh_su_extension_flag", 1, sh.sh_su_extension_flag)
        sh.sh_extension_data = code_extension_data(c, "sh", sh.sh_extension_data)
    else:
        sh.sh_su_extension_flag, sh.sh_extension_data = 0, b""


def code_extension_data(c: Coder, prefix: str, data: bytes) -> bytes:
    """The extension data of a sequence header or key-frame unit (spec 7.3.3, 7.3.4; semantics
    7.4.2): a length, then that many bytes that a decoder of this version skips."""
    length = c.ue(f"{prefix}_extension_length", len(data), hi=MAX_EXTENSION_LENGTH)
    if c.reading and 8 * length > c.bits_left:
        raise c.error(f"{prefix}_extension_length = {length} bytes exceeds the unit payload",
                      f"{prefix}_extension_length")
    out = bytearray()
    for i in range(length if c.reading else len(data)):   # a writer writes the data it has
        out.append(c.u(f"{prefix}_extension_data_byte[{i}]", 8, 0 if c.reading else data[i]))
    return bytes(out)


def _code_explicit_init(c: Coder, sh: SequenceHeader, n: int) -> None:
    """The explicit CABAC initialisation of sequence_header( ) (spec 7.3.3; semantics 7.4.2,
    used by 9.3.2.2)."""
    if c.reading:
        sh.sh_skip_ctx_init_value = [0] * len(SKIP_CTX_INIT)
        sh.sh_skip_ctx_shift_idx = [0] * len(SKIP_CTX_INIT)
        sh.sh_ctx_init_value = [[0] * NUM_CTX_PER_ELEMENT for _ in range(n)]
        sh.sh_ctx_shift_idx = [[0] * NUM_CTX_PER_ELEMENT for _ in range(n)]
        sh.sh_rice_stat_init = [0] * n
    for j in range(len(SKIP_CTX_INIT)):
        sh.sh_skip_ctx_init_value[j] = c.u(f"sh_skip_ctx_init_value[{j}]", 6,
                                           sh.sh_skip_ctx_init_value[j])
        sh.sh_skip_ctx_shift_idx[j] = c.u(f"sh_skip_ctx_shift_idx[{j}]", 4,
                                          sh.sh_skip_ctx_shift_idx[j])
    for i in range(n):
        for j in range(NUM_CTX_PER_ELEMENT):
            sh.sh_ctx_init_value[i][j] = c.u(f"sh_ctx_init_value[{i}][{j}]", 6,
                                             sh.sh_ctx_init_value[i][j])
            sh.sh_ctx_shift_idx[i][j] = c.u(f"sh_ctx_shift_idx[{i}][{j}]", 4,
                                            sh.sh_ctx_shift_idx[i][j])
        sh.sh_rice_stat_init[i] = c.u(f"sh_rice_stat_init[{i}]", 6, sh.sh_rice_stat_init[i],
                                      hi=MAX_RICE_STAT)


def with_explicit_init(sh: SequenceHeader, element_inits: list[ElementContextInit] | None = None,
                       skip_init: list[tuple[int, int]] | None = None) -> SequenceHeader:
    """Fills the explicit-initialisation fields (defaults: the spec tables)."""
    inits = element_inits or [default_element_init(e) for e in sh.sh_sem_element_id]
    skip = skip_init or list(SKIP_CTX_INIT)
    sh.sh_cabac_explicit_init_flag = 1
    sh.sh_skip_ctx_init_value = [v for v, _ in skip]
    sh.sh_skip_ctx_shift_idx = [s for _, s in skip]
    sh.sh_ctx_init_value = [list(x.init_values) for x in inits]
    sh.sh_ctx_shift_idx = [list(x.shift_idx) for x in inits]
    sh.sh_rice_stat_init = [x.rice_stat_init for x in inits]
    return sh


def raise_or_fail(c: Coder, message: str, name: str) -> None:
    """A constraint of clause 7.4 that the values break, as the coder's error."""
    raise c.error(message, name)


# ---------------------------------------------------------------------------------------
# Key-frame unit
# ---------------------------------------------------------------------------------------
@dataclass
class KeyframeUnit:
    """keyframe_unit( ) (syntax spec 7.3.4, semantics 7.4.3)."""
    kf_frame_idx_delta: int = 0
    kf_codec_id: int = KEYFRAME_CODEC_VVC
    kf_ref_sem_level: list[int] = field(default_factory=list)
    kf_geometry_version: int = 0
    kf_geometry_payload: bytes = b""
    kf_picture_payload: bytes = b""
    # Extension (spec 7.3.4): present when more_payload_data( ) follows kf_picture_byte.
    kf_extension_present: int = 0
    kf_extension_data: bytes = b""


def code_keyframe_unit(c: Coder, kf: KeyframeUnit, sh: SequenceHeader) -> KeyframeUnit:
    """keyframe_unit( ) (spec 7.3.4; semantics and constraints 7.4.3)."""
    kf.kf_frame_idx_delta = c.ue("kf_frame_idx_delta", kf.kf_frame_idx_delta, hi=MAX_FRAME_IDX_DELTA)
    kf.kf_codec_id = c.u("kf_codec_id", 8, kf.kf_codec_id)
    n = sh.num_sem_elements
    if c.reading:
        kf.kf_ref_sem_level = [0] * n
    elif len(kf.kf_ref_sem_level) != n:
        raise ValueError(f"kf_ref_sem_level has {len(kf.kf_ref_sem_level)} values, expected {n}")
    for i in range(n):
        lo, hi = sh.level_bounds(i)
        kf.kf_ref_sem_level[i] = c.se(f"kf_ref_sem_level[{i}]", kf.kf_ref_sem_level[i], lo=lo, hi=hi)
    kf.kf_geometry_version = c.u("kf_geometry_version", 8, kf.kf_geometry_version)
    geometry_size = c.ue("kf_geometry_size", len(kf.kf_geometry_payload), hi=(1 << 28) - 1)
    picture_size = c.ue("kf_picture_size", len(kf.kf_picture_payload), lo=1, hi=(1 << 28) - 1)
    c.byte_alignment()
    if isinstance(c, SyntaxReader) and 8 * (geometry_size + picture_size) > c.bits_left:
        raise c.error(f"kf_geometry_size + kf_picture_size = {geometry_size + picture_size} "
                      f"bytes exceed the unit payload", "kf_picture_size")
    kf.kf_geometry_payload = c.b8_string("kf_geometry_byte", kf.kf_geometry_payload, geometry_size)
    kf.kf_picture_payload = c.b8_string("kf_picture_byte", kf.kf_picture_payload, picture_size)
    present = kf.kf_extension_present or kf.kf_extension_data
    kf.kf_extension_present = int(c.more_payload_data(bool(present)))
    kf.kf_extension_data = (code_extension_data(c, "kf", kf.kf_extension_data)
                            if kf.kf_extension_present else b"")
    c.trailing_bits()
    return kf


# ---------------------------------------------------------------------------------------
# Semantic unit
# ---------------------------------------------------------------------------------------
@dataclass
class SemanticFrame:
    """One frame of semantic_unit( ) (spec 7.3.5, semantics 7.4.4)."""
    sf_skip_flag: int = 0
    sem_res: list[int] = field(default_factory=list)   # one residual per signalled element


@dataclass
class SemanticUnit:
    """semantic_unit( ) (syntax spec 7.3.5, semantics 7.4.4)."""
    su_frame_idx_delta: int = 0
    frames: list[SemanticFrame] = field(default_factory=list)
    su_extension_data: bytes = b""   # coded only when sh_su_extension_flag is 1 (spec 7.3.5)


def residual_bound(sh: SequenceHeader, i: int) -> int:
    """Largest |sem_res| that can reach a legal level from a legal prediction."""
    lo, hi = sh.level_bounds(i)
    return hi - lo


def code_semantic_unit(c: Coder, su: SemanticUnit, sh: SequenceHeader,
                       ctx: SemanticContextState | None) -> SemanticUnit:
    """semantic_unit( ) (spec 7.3.5). ctx is the parsing state (CABAC contexts, PrevSkip,
    PrevRes) already initialised or carried as spec 9.3.1 says; None in Exp-Golomb mode.
    Compact profile streams use semantic-unit syntax 2 instead (spec 1.2 draft, 7.3.5a)."""
    from .profiles import compact_tools      # profiles imports this module
    if compact_tools(sh):
        from .semantic_unit_compact import code_semantic_unit_compact
        return code_semantic_unit_compact(c, su, sh, ctx)
    cabac = sh.sh_entropy_coding_mode == ENTROPY_CABAC
    n = sh.num_sem_elements
    bounds = [residual_bound(sh, i) for i in range(n)]
    if sh.sh_su_extension_flag:
        su.su_extension_data = _code_su_extension(c, su.su_extension_data)
    elif not c.reading and su.su_extension_data:
        raise ValueError("su_extension_data needs sh_su_extension_flag equal to 1")
    if cabac:
        assert ctx is not None
        c.start_ae()
        delta = c.ae_bypass_egk("su_frame_idx_delta", su.su_frame_idx_delta, 0, hi=MAX_FRAME_IDX_DELTA)
        num_minus1 = c.ae_bypass_egk("su_num_frames_minus1", len(su.frames) - 1, 0,
                                     hi=MAX_FRAMES_PER_UNIT - 1)
    else:
        delta = c.ue("su_frame_idx_delta", su.su_frame_idx_delta, hi=MAX_FRAME_IDX_DELTA)
        num_minus1 = c.ue("su_num_frames_minus1", len(su.frames) - 1, hi=MAX_FRAMES_PER_UNIT - 1)
    su.su_frame_idx_delta = delta
    if c.reading:
        su.frames = [SemanticFrame() for _ in range(num_minus1 + 1)]
    for f, frame in enumerate(su.frames):
        code_semantic_frame(c, frame, f, sh, bounds, ctx)
    if cabac:
        if c.ae_terminate("end_of_unit_one_bit", 1) != 1:
            raise_or_fail(c, "end_of_unit_one_bit is 0 (shall be 1)", "end_of_unit_one_bit")
        c.ae_trailing_bits()
    else:
        c.trailing_bits()
    return su


def _code_su_extension(c: Coder, data: bytes) -> bytes:
    """The extension data of a semantic unit (spec 7.3.5, semantics 7.4.4): byte-oriented, at the
    start of the payload, so the arithmetic-coded part starts byte-aligned as without it."""
    length = c.leb128("su_extension_length", len(data), 4)
    if c.reading and 8 * length > c.bits_left:
        raise c.error(f"su_extension_length = {length} bytes exceeds the unit payload",
                      "su_extension_length")
    return c.b8_string("su_extension_data_byte", data, length if c.reading else len(data))


def code_semantic_frame(c: Coder, frame: SemanticFrame, f: int, sh: SequenceHeader, bounds: list[int],
                        ctx: SemanticContextState | None) -> SemanticFrame:
    """One frame of semantic_unit( ) (spec 7.3.5): sf_skip_flag and the residuals, in the
    entropy coding mode of the header. bounds: residual_bound( ) of each element; ctx: the
    CABAC parsing state (None in Exp-Golomb mode). Also what an encoder codes on the side to
    learn a frame's bits (ref_encoder's rate estimation), so the syntax exists once."""
    n = sh.num_sem_elements
    if not c.reading and not frame.sf_skip_flag and len(frame.sem_res) != n:
        raise ValueError(f"frame {f} has {len(frame.sem_res)} residuals, expected {n}")
    if sh.sh_entropy_coding_mode == ENTROPY_CABAC:
        assert ctx is not None
        _code_frame_cabac(c, frame, f, n, bounds, ctx)
        return frame
    frame.sf_skip_flag = c.u(f"sf_skip_flag[{f}]", 1, frame.sf_skip_flag)
    if frame.sf_skip_flag:
        frame.sem_res = [0] * n
    else:
        if c.reading:
            frame.sem_res = [0] * n
        for i in range(n):
            frame.sem_res[i] = c.se(f"sem_res[{f}][{i}]", frame.sem_res[i],
                                    lo=-bounds[i], hi=bounds[i])
    return frame


def _code_frame_cabac(c: Coder, frame: SemanticFrame, f: int, n: int, bounds: list[int],
                      ctx: SemanticContextState) -> None:
    """One frame of semantic_unit( ) in CABAC mode (spec 7.3.5): sf_skip_flag with ctxInc =
    PrevSkip (9.3.4.2), then each element's residual (code_sem_res_cabac)."""
    skip = c.ae_decision(f"sf_skip_flag[{f}]", ctx.skip[ctx.prev_skip], frame.sf_skip_flag)
    frame.sf_skip_flag = skip
    ctx.prev_skip = skip
    prev = ctx.prev_res
    if skip:
        frame.sem_res = [0] * n
        for i in range(n):
            prev[i] = 0
        return
    if c.reading:
        frame.sem_res = [0] * n
    for i in range(n):
        value = code_sem_res_cabac(c, f, i, frame.sem_res[i], bounds[i], ctx.elements[i], prev[i])
        frame.sem_res[i] = value
        prev[i] = value


def code_sem_res_cabac(c: Coder, f: int, i: int, value: int, bound: int, ec: ElementContexts,
                       prev_res: int) -> int:
    """sem_res[ f ][ i ] in CABAC mode (spec 7.3.5): binarization (9.3.3, Table 12) and context
    selection from PrevRes[ i ] (9.3.4.2); ec.update_rice_stat is 9.3.3.4. Returns the value
    (read or written). The caller sets PrevRes[ i ] to it."""
    a = abs(value)
    p = prev_res
    ap = abs(p)
    if c.ae_decision(f"sem_res_sig_flag[{f}][{i}]", ec.sig[p != 0], int(a > 0)):
        a_dec = 1
        if c.ae_decision(f"sem_res_gt1_flag[{f}][{i}]", ec.gt1[ap > 1], int(a > 1)):
            a_dec = 2
            if c.ae_decision(f"sem_res_gt2_flag[{f}][{i}]", ec.gt2[ap > 2], int(a > 2)):
                rem = c.ae_bypass_egk(f"sem_res_abs_minus3[{f}][{i}]", a - 3,
                                      ec.rice_stat >> 2, hi=bound - 3)
                ec.update_rice_stat(rem)
                a_dec = 3 + rem
        sign_ctx = ec.sign[0 if p == 0 else (1 if p > 0 else 2)]
        neg = c.ae_decision(f"sem_res_sign_flag[{f}][{i}]", sign_ctx, int(value < 0))
        return -a_dec if neg else a_dec
    return 0


# ---------------------------------------------------------------------------------------
# Hash unit and end of sequence
# ---------------------------------------------------------------------------------------
@dataclass
class HashEntry:
    """One entry of hash_unit( ) (syntax spec 7.3.6, semantics 7.4.6)."""
    hu_entry_type: int
    hu_first_frame_idx: int
    hu_num_frames_minus1: int
    hu_md5: bytes


@dataclass
class HashUnit:
    """hash_unit( ) (syntax spec 7.3.6, semantics 7.4.6)."""
    hu_hash_type: int = HASH_TYPE_MD5
    entries: list[HashEntry] = field(default_factory=list)


def code_hash_unit(c: Coder, hu: HashUnit) -> HashUnit:
    """hash_unit( ) (spec 7.3.6; semantics and constraints 7.4.6)."""
    hu.hu_hash_type = c.u("hu_hash_type", 8, hu.hu_hash_type, hi=HASH_TYPE_MD5)
    count = c.u("hu_num_entries", 16, len(hu.entries))
    if c.reading:
        hu.entries = [HashEntry(0, 0, 0, b"") for _ in range(count)]
    for i, e in enumerate(hu.entries):
        e.hu_entry_type = c.u(f"hu_entry_type[{i}]", 8, e.hu_entry_type, hi=HASH_ENTRY_KEYFRAME)
        e.hu_first_frame_idx = c.u(f"hu_first_frame_idx[{i}]", 32, e.hu_first_frame_idx)
        e.hu_num_frames_minus1 = c.u(f"hu_num_frames_minus1[{i}]", 16, e.hu_num_frames_minus1,
                                     hi=0 if e.hu_entry_type == HASH_ENTRY_KEYFRAME else None)
        e.hu_md5 = c.b8_string(f"hu_md5[{i}]", e.hu_md5, 16)
    c.trailing_bits()
    return hu


def code_end_of_sequence_unit(c: Coder) -> None:
    """end_of_sequence_unit( ) (spec 7.3.7; semantics 7.4.5)."""
    c.trailing_bits()
