"""Context variables of the semantic unit and their initialisation (spec 9.3.2, Tables 9-11).

Context selection (spec 9.3.4.2) uses the previous frame's residual of the same element:
  sf_skip_flag          ctxInc = PrevSkip                                  (2 contexts)
  sem_res_sig_flag      ctxInc = PrevRes[i] != 0                           (2 per element)
  sem_res_gt1_flag      ctxInc = Abs(PrevRes[i]) > 1                       (2 per element)
  sem_res_gt2_flag      ctxInc = Abs(PrevRes[i]) > 2                       (2 per element)
  sem_res_sign_flag     ctxInc = 0 if PrevRes[i] == 0, 1 if > 0, 2 if < 0  (3 per element)
sem_res_abs_minus3 is coded in bypass bins with an EGk code of order k = RiceStat[i] >> 2,
where RiceStat[i] starts at the element's value in Table 11 and adapts after each remainder
(spec 9.3.3.4, HEVC's persistent Rice adaptation).
"""
from __future__ import annotations

from dataclasses import dataclass

from .cabac_engine import ContextModel

NUM_CTX_SKIP = 2
NUM_CTX_SIG = 2
NUM_CTX_GT1 = 2
NUM_CTX_GT2 = 2
NUM_CTX_SIGN = 3
NUM_CTX_PER_ELEMENT = NUM_CTX_SIG + NUM_CTX_GT1 + NUM_CTX_GT2 + NUM_CTX_SIGN
MAX_RICE_STAT = 47   # k = RiceStat >> 2 stays at most 11

# (initValue, shiftIdx) of the two sf_skip_flag contexts (Table 9).
SKIP_CTX_INIT: tuple[tuple[int, int], ...] = ((35, 5), (35, 5))

# Semantic-unit syntax 2 (spec 1.2 draft, Compact profile; 9.3.2.2, Table 10a): the contexts
# it adds to those of syntax 1. The element groups are those of semantic_unit_compact.py.
NUM_SEM_GROUPS = 4            # head, eyes, mouth, other (Table 3d)
NUM_CTX_GROUP_FLAG = 4        # sf_group_flag[ g ]: PrevGroup[ g ] + 2 * (an earlier group changed)
NUM_CTX_SIG2 = 4              # sem_res_sig_flag in syntax 2: (PrevRes != 0) + 2 * NeighbourSig
# (initValue, shiftIdx), Table 10a.
FRAME_IDX_DELTA_FLAG_CTX_INIT = (25, 0)    # su_frame_idx_delta_flag: mostly 0 (p1 0.09)
NUM_FRAMES_PRED_FLAG_CTX_INIT = (61, 0)    # su_num_frames_pred_flag: mostly 1 (p1 0.9)
# Syntax 2 adapts fast (shiftIdx 0: windows of 4 and 32 bins): on RDOQ output it measured
# 4 % fewer bits than shiftIdx 5 and 7 % fewer than 10 (docs/results/semantic_coding_*).
COMPACT_SHIFT_IDX = 0
GROUP_FLAG_CTX_INIT: tuple[tuple[int, int], ...] = ((35, COMPACT_SHIFT_IDX),) * NUM_CTX_GROUP_FLAG
SIG2_CTX_INIT: tuple[tuple[int, int], ...] = ((35, COMPACT_SHIFT_IDX),) * NUM_CTX_SIG2
# Table 10a: sf_skip_flag and the gt1, gt2 and sign contexts of syntax 2 when
# sh_cabac_explicit_init_flag is 0 (explicit values replace them as in syntax 1).
COMPACT_SKIP_CTX_INIT: tuple[tuple[int, int], ...] = ((35, COMPACT_SHIFT_IDX),) * NUM_CTX_SKIP


@dataclass(frozen=True)
class ElementContextInit:
    """initValue and shiftIdx of one element's nine contexts (sig 0-1, gt1 0-1, gt2 0-1,
    sign 0-2), and the initial RiceStat of its remainder code."""
    init_values: tuple[int, ...]
    shift_idx: tuple[int, ...]
    rice_stat_init: int


# Table 10: per element_id. Element ids without an entry (reserved for extensions) use
# DEFAULT_ELEMENT_INIT unless the sequence header sends explicit values.
DEFAULT_ELEMENT_INIT = ElementContextInit((35,) * NUM_CTX_PER_ELEMENT, (5,) * NUM_CTX_PER_ELEMENT, 4)
ELEMENT_CTX_INIT: dict[int, ElementContextInit] = {
    element_id: DEFAULT_ELEMENT_INIT for element_id in range(14)
}


COMPACT_ELEMENT_INIT = ElementContextInit((35,) * NUM_CTX_PER_ELEMENT,
                                           (COMPACT_SHIFT_IDX,) * NUM_CTX_PER_ELEMENT, 4)


def default_element_init(element_id: int) -> ElementContextInit:
    """The Table 10 and 11 initialisation of an element id (spec 9.3.2.2)."""
    return ELEMENT_CTX_INIT.get(element_id, DEFAULT_ELEMENT_INIT)


class ElementContexts:
    """The nine context variables and RiceStat of one signalled element (spec 9.3.2.2,
    Table 10; RiceStat 9.3.3.4)."""
    __slots__ = ("sig", "gt1", "gt2", "sign", "rice_stat")

    def __init__(self, init: ElementContextInit, init_qp: int) -> None:
        ctx = [ContextModel(v, s, init_qp) for v, s in zip(init.init_values, init.shift_idx)]
        self.sig = ctx[0:2]
        self.gt1 = ctx[2:4]
        self.gt2 = ctx[4:6]
        self.sign = ctx[6:9]
        self.rice_stat = min(init.rice_stat_init, MAX_RICE_STAT)

    def all(self) -> list[ContextModel]:
        return [*self.sig, *self.gt1, *self.gt2, *self.sign]

    def update_rice_stat(self, remainder: int) -> None:
        """After each sem_res_abs_minus3 (spec 9.3.3.4)."""
        k = self.rice_stat >> 2
        if remainder >= (3 << k):
            self.rice_stat = min(self.rice_stat + 1, MAX_RICE_STAT)
        elif 2 * remainder < (1 << k) and self.rice_stat > 0:
            self.rice_stat -= 1


class SemanticContextState:
    """Everything the parsing of semantic units carries between frames (spec 9.3.1):
    the context variables, PrevSkip and PrevRes[i]. Reset by initialize()."""

    def __init__(self, inits: list[ElementContextInit], init_qp: int,
                 skip_init: list[tuple[int, int]] | None = None) -> None:
        self._inits = inits
        self._init_qp = init_qp
        self._skip_init = list(SKIP_CTX_INIT) if skip_init is None else skip_init
        self.initialize()

    def initialize(self) -> None:
        """Initialisation of the parsing state (spec 9.3.2.1, 9.3.2.2)."""
        self.skip = [ContextModel(v, s, self._init_qp) for v, s in self._skip_init]
        self.elements = [ElementContexts(init, self._init_qp) for init in self._inits]
        self.prev_skip = 0
        self.prev_res = [0] * len(self._inits)
        self.compact = CompactContexts(len(self._inits), self._init_qp)

    def snapshot(self) -> tuple[int, list[int], list[int], list[int], list[int]]:
        """The variables other than the context models that coding a frame changes (PrevSkip,
        PrevRes, PrevGroup, RiceStat), to code a frame on the side and undo it."""
        return (self.prev_skip, list(self.prev_res), list(self.compact.prev_group),
                [ec.rice_stat for ec in self.elements], list(self.compact.last_sign))

    def restore(self, snap: tuple[int, list[int], list[int], list[int], list[int]]) -> None:
        self.prev_skip, prev_res, prev_group, rice, last_sign = snap
        self.compact.last_sign[:] = last_sign
        self.prev_res[:] = prev_res
        self.compact.prev_group[:] = prev_group
        for ec, r in zip(self.elements, rice):
            ec.rice_stat = r


class CompactContexts:
    """The parsing state that semantic-unit syntax 2 adds (spec 1.2 draft, 9.3.2.1 and Table
    10a): the contexts of su_frame_idx_delta_flag, su_num_frames_pred_flag, sf_group_flag and
    the syntax-2 sem_res_sig_flag, PrevGroup[ g ], PrevNumFrames and LastSign[ i ]. The other element
    contexts (gt1, gt2, sign, RiceStat) and those of sf_skip_flag are syntax 1's."""
    __slots__ = ("frame_idx_delta_flag", "num_frames_pred_flag", "group_flag", "sig",
                 "prev_group", "prev_num_frames", "last_sign")

    def __init__(self, num_elements: int, init_qp: int) -> None:
        self.frame_idx_delta_flag = ContextModel(*FRAME_IDX_DELTA_FLAG_CTX_INIT, init_qp)
        self.num_frames_pred_flag = ContextModel(*NUM_FRAMES_PRED_FLAG_CTX_INIT, init_qp)
        self.group_flag = [[ContextModel(v, s, init_qp) for v, s in GROUP_FLAG_CTX_INIT]
                           for _ in range(NUM_SEM_GROUPS)]
        self.sig = [[ContextModel(v, s, init_qp) for v, s in SIG2_CTX_INIT]
                    for _ in range(num_elements)]
        self.prev_group = [0] * NUM_SEM_GROUPS
        self.prev_num_frames = 0     # 0: no unit since the initialisation (count coded explicitly)
        self.last_sign = [0] * num_elements    # LastSign[ i ]: 0 none yet, 1 positive, 2 negative
