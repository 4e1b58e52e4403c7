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
