"""Bits of semantic frames as the stream writer will code them (informative, encoder only).

The estimate runs the shared syntax (bitstream.structures.code_semantic_frame and
code_sem_res_cabac, spec 7.3.5; for the Compact profile bitstream.semantic_unit_compact's
syntax 2, spec 1.2 draft 7.3.5a) through a coder that counts instead of writing: fixed and
Exp-Golomb codes by their exact length (spec 9.2), bypass bins as one bit each, and each
context-coded bin as -log2 of the probability its context model gives it (the CABAC
probability estimator of spec 9.3.4.3.2). So the binarization and context selection exist
once, in bitstream/, and the rate-distortion optimised quantiser (semantic_rdoq.py) prices
exactly the bins the writer will code. The CABAC state is the writer's own
(SequenceState.carry.trial_state( ), spec 9.3.1), advanced frame by frame with the levels
chosen, so the estimate is closed loop.
"""
from __future__ import annotations

import math
from typing import Callable

from bitstream.cabac_contexts import SemanticContextState
from bitstream.cabac_engine import ContextModel
from bitstream.profiles import compact_tools
from bitstream.semantic_unit_compact import (code_sem_res_compact_cabac, code_semantic_frame_compact,
                                             group_layout)
from bitstream.structures import (ENTROPY_CABAC, SemanticFrame, SequenceHeader, code_sem_res_cabac,
                                  code_semantic_frame, residual_bound)
from bitstream.syntax_coder import SyntaxWriter

_P_ONE = 1 << 15        # the 15-bit probability scale of ContextModel.p_state


def _bin_bits(p_state: int, bin_val: int) -> float:
    """-log2 of the probability the context gives bin_val (spec 9.3.4.3.2's estimate)."""
    p_one = min(max(p_state, 1), _P_ONE - 1) / _P_ONE
    return -math.log2(p_one if bin_val else 1.0 - p_one)


def _lps_share(p_lps6: int) -> float:
    """The share of the range the engine gives the LPS for a 6-bit LPS probability (spec
    9.3.4.3: ivlLpsRange = ((qRangeIdx * p) >> 1) + 4), averaged over qRangeIdx 8..15 with the
    range distributed as 1/range (that of an arithmetic coder after renormalisation)."""
    weights = [math.log2((q + 1) / q) for q in range(8, 16)]
    return sum(w * (((q * p_lps6) >> 1) + 4) / (32 * q + 16) for w, q in zip(weights, range(8, 16)))


# Bits of an MPS and of an LPS per 6-bit LPS probability, as the engine codes them.
_ENGINE_BITS = [(-math.log2(1.0 - _lps_share(p)), -math.log2(_lps_share(p))) for p in range(64)]


def engine_bin_bits(p_state: int, bin_val: int) -> float:
    """Bits of bin_val as the arithmetic coder of spec 9.3.4.3 spends them: the LPS range is
    the 6-bit probability's share of the range plus 4, so a very skewed context neither makes
    its MPS free nor its LPS dearer than about 7 bits (the ideal -log2 p is not that). Used for
    semantic-unit syntax 2, whose trained contexts reach such probabilities."""
    val_mps = p_state >> 14
    p_lps6 = (32767 - p_state if val_mps else p_state) >> 9
    return _ENGINE_BITS[p_lps6][bin_val != val_mps]


class _CountingEngine:
    """Stands in for the arithmetic encoder: counts ideal bits instead of writing them.
    adapt=False prices bins without moving the context models (trying candidates)."""

    __slots__ = ("bits", "adapt", "bins_encoded", "finished", "bin_bits")

    def __init__(self, adapt: bool, bin_bits: Callable[[int, int], float] = _bin_bits) -> None:
        self.bits = 0.0
        self.adapt = adapt
        self.bin_bits = bin_bits
        self.bins_encoded = 0
        self.finished = False

    def encode_decision(self, ctx: ContextModel, bin_val: int) -> None:
        self.bins_encoded += 1
        self.bits += self.bin_bits(ctx.p_state, bin_val)
        if self.adapt:
            ctx.update(bin_val)

    def encode_bypass(self, bin_val: int) -> None:
        self.bins_encoded += 1
        self.bits += 1.0

    def encode_bypass_bits(self, value: int, n: int) -> None:
        self.bins_encoded += n
        self.bits += n

    def encode_terminate(self, bin_val: int) -> None:
        self.bins_encoded += 1       # a terminate bin of zero costs about 2/510 of a bit
        self.finished = bool(bin_val)


class BitCounter(SyntaxWriter):
    """A SyntaxWriter whose arithmetic-coded bins are counted, not written (see module doc)."""

    def __init__(self, adapt: bool = True, bin_bits: Callable[[int, int], float] = _bin_bits) -> None:
        super().__init__()
        self._adapt = adapt
        self._engine = _CountingEngine(adapt, bin_bits)
        self._ae = self._engine        # type: ignore[assignment]

    def start_ae(self) -> None:
        self._ae = self._engine        # type: ignore[assignment]

    @property
    def bits(self) -> float:
        """Bits so far: fixed/variable-length codes exactly, arithmetic-coded bins ideally."""
        return self.bw.bit_pos + self._engine.bits


class SemanticRateModel:
    """Bits of the next semantic frame's syntax elements in the header's entropy coding mode.

    ctx: the CABAC parsing state the next frame is coded with (a private copy: this model
    advances it); None in Exp-Golomb mode."""

    def __init__(self, sh: SequenceHeader, ctx: SemanticContextState | None) -> None:
        self.sh = sh
        self.cabac = sh.sh_entropy_coding_mode == ENTROPY_CABAC
        if self.cabac and ctx is None:
            raise ValueError("CABAC rate estimation needs the parsing state")
        self.ctx = ctx
        self.bounds = [residual_bound(sh, i) for i in range(sh.num_sem_elements)]
        self._eg_cache: dict[int, int] = {}
        self.compact = compact_tools(sh)          # semantic-unit syntax 2 (spec 7.3.5a)
        self.layout = group_layout(sh) if self.compact else None
        self.groups: list[int] | None = None      # FrameGroupList of the next frame (None: every group)
        # Syntax 2 prices bins as the engine codes them (Main keeps the ideal estimate: its
        # streams stay as they were).
        self.bin_bits = engine_bin_bits if self.compact else _bin_bits

    def skip_bits(self, skip: int) -> float:
        """sf_skip_flag equal to skip."""
        if not self.cabac:
            return 1.0
        assert self.ctx is not None
        return self.bin_bits(self.ctx.skip[self.ctx.prev_skip].p_state, skip)

    def element_bits(self, i: int, res: int, neighbour: int = 0) -> float:
        """sem_res[ i ] equal to res in a frame that is not skipped (syntax 2: in a changed group,
        after a preceding element of the group that is significant when neighbour is 1, the
        sig flag coded); no state changes."""
        if not self.cabac:
            bits = self._eg_cache.get(res)
            if bits is None:
                c = SyntaxWriter()
                c.se("sem_res", res)
                bits = self._eg_cache[res] = c.bit_pos
            return float(bits)
        assert self.ctx is not None
        ec = self.ctx.elements[i]
        rice_stat = ec.rice_stat
        c = BitCounter(adapt=False, bin_bits=self.bin_bits)
        if self.compact:
            cc = self.ctx.compact
            last_sign, last_abs = cc.last_sign[i], cc.last_abs[i]
            code_sem_res_compact_cabac(c, 0, i, res, self.bounds[i], self.ctx, neighbour, False)
            cc.last_sign[i], cc.last_abs[i] = last_sign, last_abs
        else:
            code_sem_res_cabac(c, 0, i, res, self.bounds[i], ec, self.ctx.prev_res[i])
        ec.rice_stat = rice_stat
        return c.bits

    def frame_bits(self, res: list[int]) -> float:
        """The whole frame with these residuals (skipped when all are zero); no state changes."""
        skip = int(not any(res))
        if self.compact:     # groups and neighbours tie the elements: code the frame on the side
            snap = self.ctx.snapshot() if self.ctx is not None else None
            c = BitCounter(adapt=False, bin_bits=self.bin_bits)
            code_semantic_frame_compact(c, SemanticFrame(skip, list(res)), 0, self.sh, self.bounds,
                                        self.ctx, self.layout, self.groups)  # type: ignore[arg-type]
            if self.ctx is not None and snap is not None:
                self.ctx.restore(snap)
            return c.bits
        if skip:
            return self.skip_bits(1)
        return self.skip_bits(0) + sum(self.element_bits(i, r) for i, r in enumerate(res))

    def commit(self, res: list[int]) -> float:
        """Codes the frame with these residuals on the side, advancing the CABAC state as the
        writer will (spec 9.3.4.3.2, 9.3.3.4); returns its bits."""
        skip = int(not any(res))
        c = BitCounter(adapt=True, bin_bits=self.bin_bits)
        if self.compact:
            code_semantic_frame_compact(c, SemanticFrame(skip, list(res)), 0, self.sh, self.bounds,
                                        self.ctx, self.layout, self.groups)  # type: ignore[arg-type]
        else:
            code_semantic_frame(c, SemanticFrame(skip, list(res)), 0, self.sh, self.bounds, self.ctx)
        return c.bits
