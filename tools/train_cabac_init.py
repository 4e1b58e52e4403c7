"""Trained initialisation of the CABAC contexts of semantic-unit syntax 2 (spec 1.2 draft,
Tables 10a and 10b), as JVET trains the initValue and shiftIdx tables of VVC.

    python -m tools.train_cabac_init [--split train] [--fpu 8] [--qps 42]

Codes every clip of the split as the reference encoder does at its default setting (Compact
profile, CABAC, RDOQ with the lambda of the key-frame QP and the profile's error bound, the
closed loop of tools/rdoq_study.py), records the bins each context of the writer codes, from
one initialisation point (9.3.1) to the next, and chooses for every context the (initValue,
shiftIdx) that minimises the bits of its bins as the arithmetic coder spends them (spec
9.3.4.3; ref_encoder.rate_estimation.engine_bin_bits, the encoder's estimate): the contexts are
independent given the bins, so this is exact per context. Contexts that
coded no bin keep (35, 0). Prints the tables in the form of bitstream/cabac_contexts.py.

The encoder's levels depend on the tables it prices with (RDOQ), so the tool is run with the
previous result in place: Tables 10a and 10b are the fifth run (the first from the untrained
(35, 0); the first two priced bins by the ideal -log2 p and the next two by an estimate that
averaged the range uniformly, before the encoder's estimate took its final form). The fifth
run was kept because it did better on the validation split than the fourth (J = D + lambda R
per frame, 1866 against 1889; docs/results/cabac_2026-12-03/README.md).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

from bitstream import cabac_engine
from bitstream.cabac_contexts import SemanticContextState
from bitstream.cabac_engine import ContextModel
from bitstream.profiles import PROFILE_COMPACT
from bitstream.stream import StreamWriter
from conformance.synthetic_semantics import baseline_header, demo_keyframe
from ref_encoder.semantic_rdoq import (ClosedLoopChooser, SemanticQuantiser, default_max_level_error,
                                       lambda_for_qp)
from ref_encoder.rate_estimation import engine_bin_bits
from ref_encoder.semantic_visual_weights import VISUAL_WEIGHTS
from tools.semantics_cache import load_split, raw_semantics

SHIFT_CANDIDATES = (0, 1, 4, 5, 8, 9)     # shift0 2..4, shift1 5..9 (spec 9.3.2.2)
UNTRAINED = (35, 0)


def syntax2_contexts(state: SemanticContextState) -> Iterator[tuple[str, ContextModel]]:
    """Every context of syntax 2 with its Table 10a/10b name: kind, element id or group, ctxInc."""
    cc = state.compact
    yield "frame_idx_delta_flag", cc.frame_idx_delta_flag
    yield "num_frames_pred_flag", cc.num_frames_pred_flag
    for k, m in enumerate(state.skip):
        yield f"skip/{k}", m
    for g, models in enumerate(cc.group_flag):
        for k, m in enumerate(models):
            yield f"group/{g}/{k}", m
    for i, e in enumerate(state._element_ids):
        ec = state.elements[i]
        for kind, models in (("sig", cc.sig[i]), ("gt1", ec.gt1), ("par", cc.par[i]),
                             ("gt3", cc.gt3[i]), ("sign", ec.sign)):
            for k, m in enumerate(models):
                yield f"{kind}/{e}/{k}", m


@contextmanager
def recording_bins(log: list[tuple[int, int]]) -> Iterator[None]:
    """Records (id(context), bin) of every context-coded bin the arithmetic encoder writes
    (the writer's bins only: the rate estimation counts bins without this encoder)."""
    original = cabac_engine.ArithmeticEncoder.encode_decision

    def encode_decision(self: cabac_engine.ArithmeticEncoder, ctx: ContextModel, bin_val: int) -> None:
        log.append((id(ctx), bin_val))
        original(self, ctx, bin_val)
    cabac_engine.ArithmeticEncoder.encode_decision = encode_decision  # type: ignore[method-assign]
    try:
        yield
    finally:
        cabac_engine.ArithmeticEncoder.encode_decision = original  # type: ignore[method-assign]


def collect_bins(names: list[str], fpu: int, qps: list[int]) -> dict[str, list[list[int]]]:
    """For every context name, its bins per segment (from one initialisation to the next), over
    the clips coded at each key-frame QP's lambda."""
    from ref_encoder.analysis import apply_smoothing
    segments: dict[str, list[list[int]]] = defaultdict(list)
    log: list[tuple[int, int]] = []
    with recording_bins(log):
        for name, qp in ((n, q) for q in qps for n in names):
            values = apply_smoothing(raw_semantics(name)[0], "one_euro")
            sh = baseline_header(1, len(values))
            sh.sh_profile_idc = PROFILE_COMPACT
            q = SemanticQuantiser(sh, lambda_for_qp(qp), VISUAL_WEIGHTS,
                                  max_level_error=default_max_level_error(PROFILE_COMPACT))
            chooser = ClosedLoopChooser(q)
            w = StreamWriter(sh)
            w.keyframe(demo_keyframe(), q.round_levels(values[0]))
            current: dict[str, tuple[int, list[int]]] = {}
            pending: list[list[int]] = []

            def code_unit() -> None:
                w.semantic_unit(pending)
                state = w.state.carry.state
                assert state is not None
                models = {id(m): label for label, m in syntax2_contexts(state)}
                for label, m in syntax2_contexts(state):
                    if label not in current or current[label][0] != id(m):    # (re)initialised
                        current[label] = (id(m), [])
                        segments[label].append(current[label][1])
                for ctx_id, b in log:
                    current[models[ctx_id]][1].append(b)
                log.clear()
                pending.clear()

            for v in values[1:]:
                decision, _ = chooser.next_frame(v, w, pending)
                pending.append(decision.levels)
                if len(pending) == fpu:
                    code_unit()
            if pending:
                code_unit()
    return segments


def ideal_bits(segments: list[list[int]], init_value: int, shift_idx: int, init_qp: int) -> float:
    """Bits of these bin sequences, each coded from a context initialised with the pair, as the
    arithmetic coder spends them (the encoder's rate estimate of syntax 2)."""
    total = 0.0
    for bins in segments:
        m = ContextModel(init_value, shift_idx, init_qp)
        for b in bins:
            total += engine_bin_bits(m.p_state, b)
            m.update(b)
    return total


def train(segments: dict[str, list[list[int]]], init_qp: int) -> dict[str, tuple[int, int]]:
    """The best (initValue, shiftIdx) per context (ties: the smaller shiftIdx, then initValue)."""
    table = {}
    for label, segs in segments.items():
        if not any(segs):
            continue
        best = min((round(ideal_bits(segs, v, s, init_qp), 6), s, v)
                   for s in SHIFT_CANDIDATES for v in range(64))
        table[label] = (best[2], best[1])
    return table


def format_tables(table: dict[str, tuple[int, int]], element_ids: list[int]) -> str:
    """The tables in the form of bitstream/cabac_contexts.py."""
    def pairs(prefix: str, n: int) -> str:
        return "(" + ", ".join(str(table.get(f"{prefix}/{k}", UNTRAINED)) for k in range(n)) + ")"
    out = [f"FRAME_IDX_DELTA_FLAG_CTX_INIT = {table.get('frame_idx_delta_flag', UNTRAINED)}",
           f"NUM_FRAMES_PRED_FLAG_CTX_INIT = {table.get('num_frames_pred_flag', UNTRAINED)}",
           f"COMPACT_SKIP_CTX_INIT = {pairs('skip', 2)}",
           "GROUP_FLAG_CTX_INIT = ("]
    out += [f"    {pairs(f'group/{g}', 4)}," for g in range(4)]
    out += [")", "COMPACT_ELEMENT_CTX_INIT = {"]
    for e in element_ids:
        out.append(f"    {e}: CompactElementInit({pairs(f'sig/{e}', 4)}, {pairs(f'gt1/{e}', 2)}, "
                   f"{pairs(f'par/{e}', 3)}, {pairs(f'gt3/{e}', 3)}, {pairs(f'sign/{e}', 3)}),")
    out.append("}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="train_cabac_init", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="train", choices=["train", "validation", "test"])
    ap.add_argument("--fpu", type=int, default=8, help="frames per semantic unit (default 8)")
    ap.add_argument("--qps", type=int, nargs="+", default=[42],
                    help="key-frame QPs of the lambda (default 42, the default setting)")
    args = ap.parse_args(argv)
    names = load_split()[args.split]
    segments = collect_bins(names, args.fpu, args.qps)
    sh = baseline_header(1, 2)
    table = train(segments, sh.sh_cabac_init_qp)
    now = sum(ideal_bits(s, 35, 0, sh.sh_cabac_init_qp) for s in segments.values())
    trained = sum(ideal_bits(s, *table.get(k, UNTRAINED), sh.sh_cabac_init_qp) for k, s in segments.items())
    print(f"# {args.split} split, {len(names)} clips: context-coded bits with (35, 0) {now:.0f}, "
          f"trained {trained:.0f} ({100 * (trained / now - 1):+.1f} %)", file=sys.stderr)
    print(format_tables(table, list(sh.sh_sem_element_id)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
