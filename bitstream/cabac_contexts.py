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
from .semantic_groups import NUM_SEM_GROUPS  # head, eyes, mouth, other, correction (Table 3d)

NUM_CTX_SKIP = 2
NUM_CTX_SIG = 2
NUM_CTX_GT1 = 2
NUM_CTX_GT2 = 2
NUM_CTX_SIGN = 3
NUM_CTX_PER_ELEMENT = NUM_CTX_SIG + NUM_CTX_GT1 + NUM_CTX_GT2 + NUM_CTX_SIGN
MAX_RICE_STAT = 47   # k = RiceStat >> 2 stays at most 11

# (initValue, shiftIdx) of the two sf_skip_flag contexts (Table 9).
SKIP_CTX_INIT: tuple[tuple[int, int], ...] = ((35, 5), (35, 5))

# Semantic-unit syntax 2 (spec 1.2 draft, Compact profile; 9.3.6, Tables 10a, 10b): its contexts.
# The element groups are those of semantic_unit_compact.py.
NUM_CTX_GROUP_FLAG = 4        # sf_group_flag[ g ]: PrevGroup[ g ] + 2 * (an earlier group changed)
NUM_CTX_SIG2 = 4              # sem_res_sig_flag in syntax 2: (PrevRes != 0) + 2 * NeighbourSig
NUM_CTX_PAR = 3               # sem_res_par_flag: LastAbs == 0 ? 0 : 1 + (LastAbs & 1)
NUM_CTX_GT3 = 3               # sem_res_gt3_flag: LastAbs == 0 ? 0 : (LastAbs <= 3 ? 1 : 2)
COMPACT_SHIFT_IDX = 0         # contexts without trained values (element ids not in Table 10b)
UNTRAINED = (35, COMPACT_SHIFT_IDX)


@dataclass(frozen=True)
class CompactElementInit:
    """(initValue, shiftIdx) of one element's syntax-2 contexts (Table 10b): sem_res_sig_flag
    ctxInc 0..3, sem_res_gt1_flag 0..1, sem_res_par_flag 0..2, sem_res_gt3_flag 0..2 and
    sem_res_sign_flag 0..2."""
    sig: tuple[tuple[int, int], ...]
    gt1: tuple[tuple[int, int], ...]
    par: tuple[tuple[int, int], ...]
    gt3: tuple[tuple[int, int], ...]
    sign: tuple[tuple[int, int], ...]


COMPACT_UNTRAINED_ELEMENT = CompactElementInit((UNTRAINED,) * NUM_CTX_SIG2, (UNTRAINED,) * 2,
                                               (UNTRAINED,) * NUM_CTX_PAR,
                                               (UNTRAINED,) * NUM_CTX_GT3, (UNTRAINED,) * 3)
# Tables 10a and 10b: (initValue, shiftIdx) of the syntax-2 contexts, trained on the train split
# of the test conditions (tools/train_cabac_init.py: for each context the pair that minimises
# the bits of its bins over the train clips coded by the reference encoder at its default
# setting). Before training every context had (35, 0): 11.43 bits/frame on the test split at
# the default setting with the syntax-2 binarization of the time, 9.50 now
# (docs/results/cabac_2026-12-03/).
# su_frame_idx_delta_flag, su_num_frames_pred_flag, sf_skip_flag 0..1.
FRAME_IDX_DELTA_FLAG_CTX_INIT = (0, 0)
NUM_FRAMES_PRED_FLAG_CTX_INIT = (54, 8)
COMPACT_SKIP_CTX_INIT: tuple[tuple[int, int], ...] = ((12, 1), (28, 1))
# sf_group_flag ctxInc 0..3, per group g (head, eyes, mouth, other, correction).
GROUP_FLAG_CTX_INIT: tuple[tuple[tuple[int, int], ...], ...] = (
    ((36, 4), (7, 4), (35, 0), (35, 0)),
    ((50, 1), (6, 0), (33, 5), (27, 4)),
    ((35, 0), (35, 0), (49, 4), (50, 5)),
    ((35, 0), (35, 0), (35, 0), (35, 0)),
    ((35, 0), (35, 0), (35, 0), (35, 0)),
)
# Table 10b, per element id: sig 0..3, gt1 0..1, par 0..2, gt3 0..2, sign 0..2 (ids without an
# entry: COMPACT_UNTRAINED_ELEMENT).
COMPACT_ELEMENT_CTX_INIT: dict[int, CompactElementInit] = {
    0: CompactElementInit(((35, 1), (29, 1), (35, 0), (35, 0)), ((39, 0), (39, 0)), ((39, 0), (35, 0), (39, 0)), ((18, 0), (18, 9), (50, 0)), ((37, 0), (26, 8), (45, 8))),
    1: CompactElementInit(((28, 4), (14, 0), (41, 9), (34, 1)), ((39, 0), (39, 0)), ((0, 0), (48, 0), (39, 0)), ((49, 0), (3, 1), (15, 0)), ((50, 0), (57, 9), (29, 9))),
    2: CompactElementInit(((34, 1), (57, 0), (11, 5), (42, 0)), ((39, 0), (39, 0)), ((39, 0), (35, 0), (39, 0)), ((0, 0), (40, 8), (18, 4)), ((28, 0), (4, 9), (7, 9))),
    3: CompactElementInit(((43, 5), (53, 1), (12, 8), (52, 0)), ((25, 5), (44, 9)), ((0, 0), (49, 9), (41, 1)), ((42, 0), (40, 9), (12, 0)), ((5, 0), (56, 8), (30, 8))),
    4: CompactElementInit(((5, 0), (31, 0), (41, 4), (7, 9)), ((25, 0), (6, 8)), ((39, 0), (2, 5), (27, 0)), ((0, 0), (17, 0), (11, 9)), ((28, 0), (4, 9), (37, 8))),
    5: CompactElementInit(((10, 4), (40, 8), (2, 0), (0, 0)), ((39, 0), (39, 0)), ((0, 0), (17, 4), (39, 0)), ((0, 0), (0, 9), (0, 0)), ((57, 0), (13, 8), (20, 9))),
    6: CompactElementInit(((2, 9), (0, 8), (0, 8), (0, 0)), ((17, 1), (35, 0)), ((35, 0), (0, 0), (0, 0)), ((35, 0), (39, 0), (39, 0)), ((43, 0), (54, 8), (2, 8))),
    7: CompactElementInit(((14, 9), (36, 4), (35, 0), (35, 0)), ((39, 0), (39, 0)), ((11, 0), (0, 0), (39, 0)), ((28, 0), (58, 5), (54, 0)), ((58, 0), (35, 9), (42, 9))),
    8: CompactElementInit(((35, 0), (35, 0), (35, 4), (13, 4)), ((39, 0), (39, 0)), ((11, 0), (0, 0), (39, 0)), ((20, 0), (20, 8), (54, 1)), ((22, 0), (5, 9), (42, 8))),
    9: CompactElementInit(((36, 0), (6, 5), (35, 0), (35, 0)), ((39, 0), (39, 0)), ((43, 0), (0, 0), (39, 0)), ((50, 0), (20, 0), (38, 0)), ((57, 0), (51, 9), (20, 9))),
    10: CompactElementInit(((26, 5), (2, 8), (17, 9), (40, 4)), ((39, 0), (39, 0)), ((11, 0), (4, 9), (39, 0)), ((0, 0), (10, 5), (11, 8)), ((37, 0), (6, 9), (42, 9))),
    11: CompactElementInit(((34, 9), (18, 9), (10, 8), (25, 0)), ((39, 0), (39, 0)), ((49, 0), (11, 9), (39, 0)), ((56, 0), (41, 8), (25, 0)), ((28, 0), (59, 9), (27, 9))),
    12: CompactElementInit(((33, 9), (10, 1), (25, 1), (0, 0)), ((39, 0), (39, 0)), ((49, 0), (11, 8), (39, 0)), ((2, 0), (17, 9), (0, 0)), ((13, 0), (59, 4), (50, 9))),
    13: CompactElementInit(((17, 0), (33, 0), (17, 0), (26, 0)), ((39, 0), (39, 0)), ((11, 0), (57, 8), (39, 0)), ((25, 0), (10, 0), (5, 9)), ((27, 0), (13, 8), (58, 8))),
}
# End of Tables 10a and 10b.


def compact_element_init(element_id: int) -> CompactElementInit:
    """The Table 10b initialisation of an element id's syntax-2 contexts (spec 9.3.6.1)."""
    return COMPACT_ELEMENT_CTX_INIT.get(element_id, COMPACT_UNTRAINED_ELEMENT)


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


def compact_element_context_init(element_id: int) -> ElementContextInit:
    """The ElementContextInit of syntax 2 (Table 10b) for the contexts it shares with syntax 1:
    sem_res_gt1_flag (j = 2, 3) and sem_res_sign_flag (j = 6..8); j = 0, 1, 4, 5 are not used
    by syntax 2 (UNTRAINED)."""
    t = compact_element_init(element_id)
    pairs = (UNTRAINED, UNTRAINED, *t.gt1, UNTRAINED, UNTRAINED, *t.sign)
    return ElementContextInit(tuple(v for v, _ in pairs), tuple(k for _, k in pairs), 4)


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

    def clone(self) -> "ElementContexts":
        c = ElementContexts.__new__(ElementContexts)
        c.sig, c.gt1, c.gt2, c.sign = (_clones(m) for m in (self.sig, self.gt1, self.gt2, self.sign))
        c.rice_stat = self.rice_stat
        return c

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
                 skip_init: list[tuple[int, int]] | None = None,
                 element_ids: list[int] | None = None) -> None:
        self._inits = inits
        # Syntax 2's own contexts are initialised per element id (Table 10b).
        self._element_ids = list(range(len(inits))) if element_ids is None else list(element_ids)
        self._init_qp = init_qp
        self._skip_init = list(SKIP_CTX_INIT) if skip_init is None else skip_init
        self.initialize()

    def initialize(self) -> None:
        """Initialisation of the parsing state (spec 9.3.2.1, 9.3.2.2)."""
        self.skip = [ContextModel(v, s, self._init_qp) for v, s in self._skip_init]
        self.elements = [ElementContexts(init, self._init_qp) for init in self._inits]
        self.prev_skip = 0
        self.prev_res = [0] * len(self._inits)
        self.compact = CompactContexts(self._element_ids, self._init_qp)

    def clone(self) -> "SemanticContextState":
        """An independent copy of the whole state (a unit coded on the side; 9.3.1)."""
        c = SemanticContextState.__new__(SemanticContextState)
        c._inits, c._element_ids, c._init_qp, c._skip_init = (self._inits, self._element_ids,
                                                              self._init_qp, self._skip_init)
        c.skip = _clones(self.skip)
        c.elements = [ec.clone() for ec in self.elements]
        c.prev_skip = self.prev_skip
        c.prev_res = list(self.prev_res)
        c.compact = self.compact.clone()
        return c

    def snapshot(self) -> tuple[int, list[int], list[int], list[int], list[int], list[int]]:
        """The variables other than the context models that coding a frame changes (PrevSkip,
        PrevRes, PrevGroup, RiceStat, LastSign, LastAbs), to code a frame on the side and undo it."""
        return (self.prev_skip, list(self.prev_res), list(self.compact.prev_group),
                [ec.rice_stat for ec in self.elements], list(self.compact.last_sign),
                list(self.compact.last_abs))

    def restore(self, snap: tuple[int, list[int], list[int], list[int], list[int], list[int]]) -> None:
        self.prev_skip, prev_res, prev_group, rice, last_sign, last_abs = snap
        self.compact.last_sign[:] = last_sign
        self.compact.last_abs[:] = last_abs
        self.prev_res[:] = prev_res
        self.compact.prev_group[:] = prev_group
        for ec, r in zip(self.elements, rice):
            ec.rice_stat = r


class CompactContexts:
    """The parsing state that semantic-unit syntax 2 adds (spec 1.2 draft, 9.3.6.1 and Tables
    10a, 10b): the contexts of su_frame_idx_delta_flag, su_num_frames_pred_flag, sf_group_flag and
    the syntax-2 sem_res_sig_flag, sem_res_par_flag and sem_res_gt3_flag, PrevGroup[ g ],
    PrevNumFrames, LastSign[ i ] and LastAbs[ i ]. The contexts of sf_skip_flag,
    sem_res_gt1_flag and sem_res_sign_flag and RiceStat are those of syntax 1's state (with
    Table 10b's values)."""
    __slots__ = ("frame_idx_delta_flag", "num_frames_pred_flag", "group_flag", "sig", "par", "gt3",
                 "prev_group", "prev_num_frames", "last_sign", "last_abs")

    def __init__(self, element_ids: list[int], init_qp: int) -> None:
        def models(pairs: tuple[tuple[int, int], ...]) -> list[ContextModel]:
            return [ContextModel(v, k, init_qp) for v, k in pairs]
        self.frame_idx_delta_flag = ContextModel(*FRAME_IDX_DELTA_FLAG_CTX_INIT, init_qp)
        self.num_frames_pred_flag = ContextModel(*NUM_FRAMES_PRED_FLAG_CTX_INIT, init_qp)
        self.group_flag = [models(pairs) for pairs in GROUP_FLAG_CTX_INIT]
        inits = [compact_element_init(e) for e in element_ids]
        self.sig = [models(t.sig) for t in inits]
        self.par = [models(t.par) for t in inits]
        self.gt3 = [models(t.gt3) for t in inits]
        n = len(element_ids)
        self.prev_group = [0] * NUM_SEM_GROUPS
        self.prev_num_frames = 0     # 0: no unit since the initialisation (count coded explicitly)
        self.last_sign = [0] * n     # LastSign[ i ]: 0 none yet, 1 positive, 2 negative
        self.last_abs = [0] * n      # LastAbs[ i ]: Abs of the last non-zero residual, 0 none yet

    def clone(self) -> "CompactContexts":
        c = CompactContexts.__new__(CompactContexts)
        c.frame_idx_delta_flag = self.frame_idx_delta_flag.clone()
        c.num_frames_pred_flag = self.num_frames_pred_flag.clone()
        c.group_flag, c.sig, c.par, c.gt3 = ([_clones(m) for m in rows]
                                             for rows in (self.group_flag, self.sig, self.par, self.gt3))
        c.prev_group, c.last_sign, c.last_abs = list(self.prev_group), list(self.last_sign), list(self.last_abs)
        c.prev_num_frames = self.prev_num_frames
        return c


def _clones(models: list[ContextModel]) -> list[ContextModel]:
    return [m.clone() for m in models]
