"""What trained CABAC initialisations would save on the correction elements' contexts (Table 10b
"any other" row, Table 10a's sf_group_flag of group "correction", all 35/0 today): parses a
campaign's streams at key-frame QP 22 and 32, records every context-coded bin of those contexts
from one initialisation to the next, pools the 32 elements' contexts per kind and ctxInc, and
trains each as tools/train_cabac_init.py does (the bits as the arithmetic coder spends them).

    python docs/results/correction_elements_2026-12-06/context_potential.py work/camp_cg_train
"""
from __future__ import annotations

import sys
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bitstream import cabac_engine
from bitstream.semantic_elements import CORRECTION_ELEMENT_IDS
from bitstream.semantic_groups import GROUP_CORRECTION
from bitstream.stream import ParsedSemanticUnit, StreamParser
from tools.train_cabac_init import UNTRAINED, ideal_bits, syntax2_contexts, train


@contextmanager
def recording(log: list[tuple[int, int]]) -> Iterator[None]:
    """Records (id(context), bin) of every context-coded bin the parser decodes."""
    original = cabac_engine.ArithmeticDecoder.decode_decision

    def decode_decision(self: cabac_engine.ArithmeticDecoder, ctx: cabac_engine.ContextModel) -> int:
        b = original(self, ctx)
        log.append((id(ctx), b))
        return b
    cabac_engine.ArithmeticDecoder.decode_decision = decode_decision  # type: ignore[method-assign]
    try:
        yield
    finally:
        cabac_engine.ArithmeticDecoder.decode_decision = original  # type: ignore[method-assign]


def pooled(label: str) -> str | None:
    """The pooled name of a syntax-2 context label, None for contexts of other elements."""
    kind, owner, inc = label.split("/") if label.count("/") == 2 else (label, "", "")
    if kind == "group" and owner == str(GROUP_CORRECTION):
        return label
    if kind in ("sig", "gt1", "par", "gt3", "sign") and int(owner) in CORRECTION_ELEMENT_IDS:
        return f"{kind}/corr/{inc}"
    return None


def collect(streams: list[Path]) -> dict[str, list[list[int]]]:
    segments: dict[str, list[list[int]]] = defaultdict(list)
    for path in streams:
        log: list[tuple[int, int]] = []
        parser = StreamParser()
        open_segments: dict[int, list[int]] = {}       # id(context) -> its current segment
        with recording(log):
            for unit in parser.parse(path.read_bytes()):
                state = parser.state.carry.state if parser.state is not None else None
                if isinstance(unit, ParsedSemanticUnit) and state is not None:
                    for label, model in syntax2_contexts(state):
                        name = pooled(label)
                        if name is not None and id(model) not in open_segments:   # (re)initialised
                            open_segments[id(model)] = []
                            segments[name].append(open_segments[id(model)])
                    for ctx, b in log:
                        if ctx in open_segments:
                            open_segments[ctx].append(b)
                log.clear()
    return segments


def main() -> int:
    campaign = Path(sys.argv[1])
    streams = sorted(campaign.glob("cells/*/*/*_qp22.ifvc")) + sorted(campaign.glob("cells/*/*/*_qp32.ifvc"))
    segments = collect(streams)
    table = train(segments, 32)
    now = sum(ideal_bits(s, *UNTRAINED, 32) for s in segments.values())
    trained = sum(ideal_bits(s, *table.get(k, UNTRAINED), 32) for k, s in segments.items())
    print(f"{len(streams)} streams: context-coded bits of the correction contexts with 35/0 {now:.0f}, "
          f"trained {trained:.0f} ({100 * (trained / now - 1):+.1f} %)")
    for name in sorted(table):
        print(name, table[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
