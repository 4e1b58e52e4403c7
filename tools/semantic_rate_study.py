"""Semantic rate on real trajectories: the train (or any) split's analysed semantics are
quantised at the table's default precisions and coded with Exp-Golomb and with CABAC, for
several frames-per-unit settings, raw and with the causal smoothing filter.

Needs the prepared sequences (python -m tools.prepare_sequences) and reuses the analysis
cache (tools/semantics_cache.py)."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from conformance.synthetic_semantics import code_trajectories, semantic_bits
from ref_encoder.analysis import apply_smoothing

from .semantics_cache import load_split, raw_semantics


def study(names: list[str], fpus: list[int], smoothing: list[str | None]) -> list[dict[str, object]]:
    rows = []
    for smooth in smoothing:
        series = {n: apply_smoothing(raw_semantics(n)[0], smooth) for n in names}
        for fpu in fpus:
            for mode, mode_name in ((0, "exp-golomb"), (1, "cabac")):
                bits = frames = 0
                for values in series.values():
                    _, writer, _ = code_trajectories(np.asarray(values), mode, fpu, with_hash=False)
                    bits += semantic_bits(writer)
                    frames += len(values) - 1
                rows.append({"smoothing": smooth or "none", "frames_per_unit": fpu, "mode": mode_name,
                             "bits_per_frame": bits / frames, "kbps_at_25fps": bits / frames * 25 / 1000,
                             "frames": frames, "sequences": len(series)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="semantic_rate_study", description=__doc__)
    ap.add_argument("--split", default="train", choices=["train", "validation", "test"])
    ap.add_argument("--fpu", type=int, nargs="+", default=[1, 8, 16])
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    names = load_split()[args.split]
    rows = study(names, args.fpu, [None, "one_euro"])
    print(f"{args.split} split: {len(names)} sequences, default precisions of Table 3")
    print(f"{'smoothing':<10}{'fpu':>4}  {'mode':<11}{'bits/frame':>11}{'kbit/s':>8}")
    for r in rows:
        print(f"{r['smoothing']:<10}{r['frames_per_unit']:>4}  {r['mode']:<11}"
              f"{r['bits_per_frame']:>11.1f}{r['kbps_at_25fps']:>8.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
