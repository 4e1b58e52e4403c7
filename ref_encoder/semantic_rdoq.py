"""Quantisation of semantic frames to integer levels (encoder only, informative; the decoding
process of spec 8.3.4 is untouched): plain rounding, or rate-distortion optimised quantisation
(RDOQ) that picks each frame's levels to minimise

    J = sum_i D_i + lambda * R,    D_i = (w_i * (level_i * 2**-p_i - v_i))**2

where v_i is the (smoothed) analysed value, w_i the element's visual weight (milli-LPIPS-Alex per
element unit, semantic_visual_weights.py) and R the bits of the frame's syntax elements as the
writer will code them (rate_estimation.py: CABAC bins priced by the writer's own context state,
or Exp-Golomb lengths), predicted from the previous frame's reconstructed levels (spec 8.3.4),
so the search is closed loop.

Search (greedy per frame, exact within the frame): given the skip flag, the residuals of the
elements are coded with separate contexts (spec 9.3.4.2: each element's contexts depend on its
own previous residual only), so each element's candidate is chosen on its own; then "all
residuals zero" (sf_skip_flag 1) is compared with the best non-skipped frame. Candidates per
element: the rounded level, the prediction (the previous reconstructed level), the rounded level
moved one step toward the prediction, and the floor and ceiling of the exact level.

Error bound (hysteresis width): a candidate is allowed only when it is within max_level_error
levels of the exact level v_i * 2**p_i, so no element ever drifts further than that from the
analysis (the rounded level, at most 1/2 level away, is always allowed). An element whose value
moves less than that keeps its previous level when the bits it would cost outweigh its
distortion: a still element produces zero residuals and a still face skipped frames.

head_loc is not searched: it is derived from the chosen head_tx/head_ty levels (Annex B.3),
exactly as for rounding, so that a decoder deriving it finds the same cell.

Lambda follows the key-frame QP as in VVC (lambda = c * 2**((QP - 12) / 3)):
lambda_for_qp( ) and DEFAULT_LAMBDA_SCALE document the default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from bitstream.head_location import head_loc_cell
from bitstream.semantic_elements import ELEMENT_BY_ID
from bitstream.semantic_reconstruction import dequantize, quantize
from bitstream.semantic_temporal import frame_group_list, interpolate_unit, sem_periods
from bitstream.semantic_unit_compact import group_layout
from bitstream.structures import SequenceHeader

from .rate_estimation import SemanticRateModel

if TYPE_CHECKING:
    from bitstream.stream import StreamWriter

# c of lambda = c * 2**((QP - 12) / 3), in (milli-LPIPS)**2 per bit; calibrated on the test
# split so that the quality targets of issue 13 hold (docs/results/rdoq_*/README.md).
DEFAULT_LAMBDA_SCALE = 0.125
DEFAULT_MAX_LEVEL_ERROR = 2.0   # levels of the element's precision (see the module docstring)
# The Compact profile's default bound: with semantic-unit syntax 2 a bound of 3 levels brings the
# default (QP 42, CABAC, 8 frames per unit) under 12 bits/frame on the test split; quality
# measured in docs/results/semantic_coding_2026-12-03/. Main keeps 2 (its streams unchanged).
DEFAULT_MAX_LEVEL_ERROR_COMPACT = 3.0
# Lambda stops growing above this key-frame QP: at QP 52 the uncapped lambda (1290) cost
# +1.03 % LPIPS-Alex (docs/results/rdoq_2026-12-03/); capped, QP 52 uses QP 47's lambda (410).
LAMBDA_MAX_QP = 47
LAMBDA_PRESETS = ("off", "auto")


def lambda_for_qp(qp: int, scale: float = DEFAULT_LAMBDA_SCALE) -> float:
    """The default lambda at key-frame QP qp: scale * 2**((min(qp, LAMBDA_MAX_QP) - 12) / 3)
    (VVC's lambda-QP slope: lambda doubles every 3 QP, so low-rate points also get cheaper
    semantics; capped at LAMBDA_MAX_QP, where more lambda cost quality)."""
    return scale * 2.0 ** ((min(qp, LAMBDA_MAX_QP) - 12) / 3.0)


def default_max_level_error(profile_idc: int) -> float:
    """The encoder's default error bound for a profile (Compact: DEFAULT_MAX_LEVEL_ERROR_COMPACT)."""
    from bitstream.profiles import PROFILE_COMPACT
    return DEFAULT_MAX_LEVEL_ERROR_COMPACT if profile_idc == PROFILE_COMPACT else DEFAULT_MAX_LEVEL_ERROR


def resolve_lambda(setting: str | float, qp: int) -> float | None:
    """--semantic-lambda: "off" (None: plain rounding, today's streams), "auto" (lambda_for_qp),
    or a number >= 0."""
    if setting == "off":
        return None
    if setting == "auto":
        return lambda_for_qp(qp)
    value = float(setting)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"semantic lambda must be off, auto or a finite number >= 0, not {setting!r}")
    return value


def _derived_loc(sh: SequenceHeader, levels: list[int], tx: int, ty: int, loc: int) -> int:
    """head_loc of Annex B.3 from the reconstructed head_tx/head_ty levels."""
    p = sh.sh_sem_precision
    cell = head_loc_cell(dequantize(levels[tx], p[tx]), dequantize(levels[ty], p[ty]))
    return quantize(float(cell), p[loc])


@dataclass
class FrameDecision:
    """What the quantiser chose for one frame, with its cost terms (for studies and tests)."""
    levels: list[int]
    bits: float
    distortion: float


class SemanticQuantiser:
    """Levels of semantic frames for one sequence header (signalled elements in header order).

    lam None: rounding (the encoder's behaviour before RDOQ, bit-exact); otherwise RDOQ with
    that lambda, the visual weights (element name -> milli-LPIPS per unit) and the error bound."""

    def __init__(self, sh: SequenceHeader, lam: float | None, weights: dict[str, float] | None = None,
                 max_level_error: float = DEFAULT_MAX_LEVEL_ERROR) -> None:
        if max_level_error < 0.5:
            raise ValueError("max_level_error must be at least 0.5 (rounding's own error)")
        self.sh = sh
        self.lam = lam
        self.max_level_error = max_level_error
        elements = [ELEMENT_BY_ID.get(e) for e in sh.sh_sem_element_id]
        names = [e.name if e else "" for e in elements]
        self.index = {n: i for i, n in enumerate(names) if n}
        if lam is not None and weights is None:
            from .semantic_visual_weights import VISUAL_WEIGHTS
            weights = VISUAL_WEIGHTS
        self.weights = [float((weights or {}).get(n, 0.0)) for n in names]
        self.bounds = [sh.level_bounds(i) for i in range(sh.num_sem_elements)]
        self.scale = [float(1 << p) for p in sh.sh_sem_precision]
        loc = (self.index.get("head_tx"), self.index.get("head_ty"), self.index.get("head_loc"))
        self.loc: tuple[int, int, int] | None = loc if None not in loc else None  # type: ignore[assignment]

    # -- rounding ----------------------------------------------------------------------------
    def round_levels(self, values: Sequence[float]) -> list[int]:
        """Nearest levels within the level range, head_loc derived (the encoder's rounding)."""
        out = []
        for v, p, (lo, hi) in zip(values, self.sh.sh_sem_precision, self.bounds):
            out.append(min(max(quantize(float(v), p), lo), hi))
        if self.loc is not None:
            tx, ty, loc = self.loc
            out[loc] = _derived_loc(self.sh, out, tx, ty, loc)
        return out

    # -- cost ----------------------------------------------------------------------------------
    def element_distortion(self, i: int, level: int, value: float) -> float:
        """D_i: (w_i * (level * 2**-p - v))**2, in (milli-LPIPS)**2."""
        err = self.weights[i] * (level / self.scale[i] - float(value))
        return err * err

    def cost(self, values: Sequence[float], levels: list[int], prev: list[int],
             rate: SemanticRateModel) -> tuple[float, float, float]:
        """(J, bits, distortion) of coding levels after prev with the rate model's state."""
        res = [a - b for a, b in zip(levels, prev)]
        bits = rate.frame_bits(res)
        dist = sum(self.element_distortion(i, lv, v) for i, (lv, v) in enumerate(zip(levels, values)))
        lam = self.lam if self.lam is not None else 0.0
        return dist + lam * bits, bits, dist

    # -- RDOQ ----------------------------------------------------------------------------------
    def candidates(self, i: int, value: float, pred: int) -> list[int]:
        """The levels tried for element i (module docstring), within the error bound and the
        level range; the rounded level first."""
        exact = float(value) * self.scale[i]
        lo, hi = self.bounds[i]
        r = min(max(quantize(float(value), self.sh.sh_sem_precision[i]), lo), hi)
        toward = r + (1 if pred > r else -1) if pred != r else r
        floor = int(exact // 1)
        out = [r]
        for c in (pred, toward, floor, floor + 1):
            if lo <= c <= hi and abs(c - exact) <= self.max_level_error and c not in out:
                out.append(c)
        return out

    def choose(self, values: Sequence[float], prev: list[int], rate: SemanticRateModel,
               frozen: frozenset[int] = frozenset()) -> FrameDecision:
        """The levels of one semantic frame predicted from prev (the previous frame's
        reconstructed levels), with the rate model positioned at this frame. Does not advance
        the rate model (the caller commits the residuals). frozen: elements that keep their
        level from prev (a group that the frame does not code: not one of its anchors, spec
        7.2a); their values are ignored."""
        if frozen:
            values = [prev[i] / self.scale[i] if i in frozen else float(v) for i, v in enumerate(values)]
        rounded = self.round_levels(values)
        if self.lam is None:
            _, bits, dist = self.cost(values, rounded, prev, rate)
            return FrameDecision(rounded, bits, dist)
        lam = self.lam
        n = len(prev)
        loc = self.loc[2] if self.loc is not None else -1
        layout = rate.layout          # semantic-unit syntax 2 (Compact profile): element groups
        best = list(rounded)
        for i in range(n):
            if i == loc:
                continue
            # Syntax 2: the sig flag's context looks at the preceding element of the group.
            neighbour = 0
            if layout is not None:
                j = layout.prev_in_group[i]
                neighbour = int(j >= 0 and best[j] != prev[j])
            best_j = None
            for c in ([prev[i]] if i in frozen else self.candidates(i, values[i], prev[i])):
                j = self.element_distortion(i, c, values[i]) + lam * rate.element_bits(i, c - prev[i], neighbour)
                if best_j is None or j < best_j:
                    best_j, best[i] = j, c
        if self.loc is not None:
            tx, ty, loc = self.loc
            best[loc] = _derived_loc(self.sh, best, tx, ty, loc)
        if layout is not None:
            best = self._zero_groups(values, prev, rate, best, layout)
        options = [best, rounded]
        if self._skip_allowed(values, prev):
            options.append(list(prev))
        scored = [(self.cost(values, lv, prev, rate), k, lv) for k, lv in enumerate(options)]
        (j, bits, dist), _, levels = min(scored, key=lambda t: (t[0][0], t[1]))
        return FrameDecision(levels, bits, dist)

    def _zero_groups(self, values: Sequence[float], prev: list[int], rate: SemanticRateModel,
                     best: list[int], layout) -> list[int]:  # type: ignore[no-untyped-def]
        """Syntax 2: tries keeping each element group at its previous levels (sf_group_flag 0),
        group by group, where the error bound allows it; keeps what lowers J."""
        loc = self.loc[2] if self.loc is not None else -1
        current = list(best)
        j_cur = self.cost(values, current, prev, rate)[0]
        for g in layout.groups:
            members = [i for i in layout.members[g] if i != loc]
            if all(current[i] == prev[i] for i in layout.members[g]):
                continue
            if not all(abs(prev[i] - float(values[i]) * self.scale[i]) <= self.max_level_error for i in members):
                continue
            trial = list(current)
            for i in layout.members[g]:
                trial[i] = prev[i]
            if self.loc is not None:
                tx, ty, lc = self.loc
                trial[lc] = _derived_loc(self.sh, trial, tx, ty, lc)
            j_trial = self.cost(values, trial, prev, rate)[0]
            if j_trial < j_cur:
                current, j_cur = trial, j_trial
        return current

    def _skip_allowed(self, values: Sequence[float], prev: list[int]) -> bool:
        """Every element's previous level within the error bound (head_loc: derived, so it
        follows head_tx/head_ty)."""
        loc = self.loc[2] if self.loc is not None else -1
        return all(i == loc or abs(p - float(v) * self.scale[i]) <= self.max_level_error
                   for i, (p, v) in enumerate(zip(prev, values)))


class ClosedLoopChooser:
    """Chooses the levels of consecutive semantic frames as the stream writer will code them:
    predicted from the previous frame's reconstructed levels (the last frame waiting for its
    unit, or the writer's PrevLevel, spec 8.3.4) and priced with the CABAC state the writer
    will code them with (its state at the start of the next unit, spec 9.3.1, advanced over
    the waiting frames). Used by the encoder and by tools/rdoq_study.py."""

    def __init__(self, quantiser: SemanticQuantiser) -> None:
        self.quantiser = quantiser
        self.rate: SemanticRateModel | None = None

    def next_frame(self, values: Sequence[float], writer: "StreamWriter",
                   pending: list[list[int]], breakdown: bool = False) -> tuple[FrameDecision, list[float]]:
        """The decision for the next frame; with breakdown, its bits per syntax element
        (sf_skip_flag first, then one entry per signalled element; ideal CABAC bits)."""
        prev = pending[-1] if pending else writer.state.prev_levels
        if prev is None:
            raise ValueError("a semantic frame needs a preceding key frame")
        if not pending or self.rate is None:
            self.rate = SemanticRateModel(writer.sh, writer.state.carry.trial_state())
        rate = self.rate
        decision = self.quantiser.choose(values, prev, rate)
        res = [a - b for a, b in zip(decision.levels, prev)]
        parts: list[float] = []
        if breakdown:
            skip = not any(res)
            parts = [rate.skip_bits(int(skip))] + [0.0 if skip else rate.element_bits(i, r)
                                                   for i, r in enumerate(res)]
        rate.commit(res)
        return decision, parts


def choose_unit_levels(quantiser: SemanticQuantiser, values: Sequence[Sequence[float]],
                       writer: "StreamWriter") -> list[list[int]]:
    """The levels of a whole semantic unit when some element group is coded at a lower temporal
    resolution (spec 7.2a, 8.3.4): frame by frame, the groups that the frame codes (its
    FrameGroupList) are chosen as by ClosedLoopChooser, predicted from their previous anchor and
    priced with the writer's CABAC state; the other groups keep their previous anchor's level.
    The frames between anchors then get the interpolated levels a decoder derives
    (interpolate_unit). Their distortion is not in J: the anchors are chosen on their own
    frames (what docs/results/temporal_resolution_2026-12-03 measured)."""
    sh = writer.sh
    prev = writer.state.prev_levels
    if prev is None:
        raise ValueError("a semantic frame needs a preceding key frame")
    layout = group_layout(sh)
    periods = sem_periods(sh)
    rate = SemanticRateModel(sh, writer.state.carry.trial_state())
    num = len(values)
    coded = list(prev)
    anchors = []
    for f, v in enumerate(values):
        groups = frame_group_list(layout.groups, periods, f, num)
        if groups:                       # a frame with no group to code codes nothing
            frozen = frozenset(i for i, g in enumerate(layout.group) if g not in groups)
            rate.groups = groups
            decision = quantiser.choose(v, coded, rate, frozen)
            rate.commit([a - b for a, b in zip(decision.levels, coded)])
            coded = decision.levels
        anchors.append(list(coded))
    return interpolate_unit(sh, prev, anchors)
