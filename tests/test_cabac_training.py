"""The encoder's engine-aware bin cost (ref_encoder.rate_estimation.engine_bin_bits) and the
training of Table 10a/10b (tools/train_cabac_init.py): the cost follows what the arithmetic
coder of spec 9.3.4.3 writes, the training picks per context the pair with the fewest bits, and
its printed tables are the structures of bitstream/cabac_contexts.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bitstream.bitio import BitWriter
from bitstream.cabac_contexts import CompactElementInit
from bitstream.cabac_engine import ArithmeticEncoder, ContextModel
from ref_encoder.rate_estimation import engine_bin_bits
from tools.train_cabac_init import format_tables, ideal_bits, train


def _written_bits(bins: list[int], init: int, shift: int) -> tuple[int, float, float]:
    """(bits the encoder writes, engine_bin_bits sum, ideal -log2 p sum) of bins in one context."""
    enc_ctx, est_ctx = ContextModel(init, shift, 32), ContextModel(init, shift, 32)
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    est = ideal = 0.0
    for b in bins:
        est += engine_bin_bits(est_ctx.p_state, b)
        p_one = est_ctx.p_state / 32768
        ideal -= math.log2(p_one if b else 1 - p_one)
        est_ctx.update(b)
        enc.encode_decision(enc_ctx, b)
    enc.flush_minimal()
    return bw.bit_pos, est, ideal


@pytest.mark.parametrize("p_one,init,shift", [(0.5, 35, 0), (0.1, 20, 4), (0.02, 0, 9), (0.97, 63, 8)])
def test_engine_bits_follow_the_written_bits(p_one: float, init: int, shift: int) -> None:
    """Over 4000 bins of a fixed probability (seeded), the estimate is within 1.5 % (plus the
    flush) of the bits written, and at least as close as the ideal -log2 p of the state."""
    bins = (np.random.default_rng(7).random(4000) < p_one).astype(int).tolist()
    written, est, ideal = _written_bits(bins, init, shift)
    assert abs(written - est) <= 0.015 * written + 3
    assert abs(written - est) <= abs(written - ideal) + 3


def test_engine_bits_of_a_skewed_context() -> None:
    """The engine's LPS range is at least 4 of 256..510 and its MPS never free: an LPS of the
    most skewed state costs about 7 bits, not the 15 of -log2 p, and an MPS more than 0.01."""
    lps = engine_bin_bits(1, 1)            # state 1/32768 of a one, bin 1: the LPS
    mps = engine_bin_bits(1, 0)
    assert 6.0 < lps < 7.0
    assert 0.01 < mps < 0.03


def test_training_picks_the_cheapest_pair_per_context() -> None:
    """A context that always codes 0 is trained to a start near 0 and a cost below (35, 0)'s;
    a context that coded no bin is left out (it keeps the untrained pair)."""
    segments = {"sig/0/0": [[0] * 40, [0] * 25], "sign/0/0": [[1, 0] * 10], "par/0/1": [[]]}
    table = train(segments, 32)
    assert "par/0/1" not in table
    zeros = table["sig/0/0"]
    assert ideal_bits(segments["sig/0/0"], *zeros, 32) < ideal_bits(segments["sig/0/0"], 35, 0, 32)
    assert ContextModel(*zeros, 32).p_state < ContextModel(35, 0, 32).p_state
    best = min(ideal_bits(segments["sign/0/0"], v, s, 32) for v in range(64) for s in (0, 1, 4, 5, 8, 9))
    assert ideal_bits(segments["sign/0/0"], *table["sign/0/0"], 32) == pytest.approx(best)


def test_printed_tables_are_the_code_structures() -> None:
    """format_tables( ) prints Python that rebuilds the trained pairs in place, the others (35, 0)."""
    table = {"skip/1": (13, 1), "group/2/3": (49, 4), "sig/9/2": (2, 5), "sign/9/0": (4, 0),
             "frame_idx_delta_flag": (0, 0)}
    names: dict[str, object] = {"CompactElementInit": CompactElementInit}
    exec(format_tables(table, [0, 9]), names)
    assert names["FRAME_IDX_DELTA_FLAG_CTX_INIT"] == (0, 0)
    assert names["NUM_FRAMES_PRED_FLAG_CTX_INIT"] == (35, 0)
    assert names["COMPACT_SKIP_CTX_INIT"] == ((35, 0), (13, 1))
    assert names["GROUP_FLAG_CTX_INIT"][2][3] == (49, 4)      # type: ignore[index]
    elements = names["COMPACT_ELEMENT_CTX_INIT"]
    assert elements[9].sig == ((35, 0), (35, 0), (2, 5), (35, 0))      # type: ignore[index]
    assert elements[9].sign[0] == (4, 0) and elements[0].sign[0] == (35, 0)  # type: ignore[index]
