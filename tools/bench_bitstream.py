"""Benchmark of the bitstream layer: CABAC engine throughput (bins/s) and the time to
write and parse a 250-frame semantic stream, Exp-Golomb vs CABAC sizes. Prints a table;
--json writes the numbers with provenance."""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time

from bitstream.bitio import BitReader, BitWriter
from bitstream.cabac_engine import ArithmeticDecoder, ArithmeticEncoder, ContextModel
from bitstream.stream import StreamParser
from conformance.synthetic_semantics import code_trajectories, semantic_bits, synthetic_trajectories


def _best_of(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_engine(num_bins: int, repeats: int) -> dict[str, float]:
    rng = random.Random(1)
    bins = [int(rng.random() < 0.2) for _ in range(num_bins)]
    ctx_ids = [rng.randrange(16) for _ in range(num_bins)]

    def encode(bypass: bool) -> bytes:
        w = BitWriter()
        enc = ArithmeticEncoder(w)
        ctxs = [ContextModel(35, 5, 32) for _ in range(16)]
        if bypass:
            for b in bins:
                enc.encode_bypass(b)
        else:
            for b, k in zip(bins, ctx_ids):
                enc.encode_decision(ctxs[k], b)
        enc.encode_terminate(1)
        while not w.byte_aligned():
            w.write_bit(0)
        return w.getvalue()

    results = {}
    for kind, bypass in (("decision", False), ("bypass", True)):
        data = encode(bypass)

        def decode() -> None:
            dec = ArithmeticDecoder(BitReader(data))
            ctxs = [ContextModel(35, 5, 32) for _ in range(16)]
            if bypass:
                for _ in range(num_bins):
                    dec.decode_bypass()
            else:
                for k in ctx_ids:
                    dec.decode_decision(ctxs[k])
        results[f"encode_{kind}_bins_per_s"] = num_bins / _best_of(lambda: encode(bypass), repeats)
        results[f"decode_{kind}_bins_per_s"] = num_bins / _best_of(decode, repeats)
    return results


def bench_stream(frames: int, repeats: int) -> dict[str, dict[str, float]]:
    values = synthetic_trajectories(frames, 25.0, 0)
    out: dict[str, dict[str, float]] = {}
    for fpu in (1, 8):
        for mode, name in ((0, "exp-golomb"), (1, "cabac")):
            data, writer, _ = code_trajectories(values, mode, fpu, with_hash=False)
            write_s = _best_of(lambda: code_trajectories(values, mode, fpu, with_hash=False), repeats)
            parse_s = _best_of(lambda: list(StreamParser().parse(data)), repeats)
            bits = semantic_bits(writer)
            out[f"{name}/fpu{fpu}"] = {
                "semantic_bits_per_frame": bits / (frames - 1),
                "semantic_kbps_at_25fps": bits / (frames - 1) * 25 / 1000,
                "write_ms": 1000 * write_s, "parse_ms": 1000 * parse_s,
                "parse_frames_per_s": frames / parse_s}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench_bitstream", description=__doc__)
    ap.add_argument("--bins", type=int, default=200_000)
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write results to this file")
    args = ap.parse_args(argv)
    engine = bench_engine(args.bins, args.repeats)
    stream = bench_stream(args.frames, args.repeats)
    print(f"CABAC engine ({args.bins} bins, best of {args.repeats}):")
    for k, v in engine.items():
        print(f"  {k:<28} {v / 1e6:8.3f} M")
    print(f"\n{args.frames}-frame synthetic semantic stream (14 elements, default precisions, no hash units):")
    print(f"  {'mode':<18}{'bits/frame':>11}{'kbit/s':>9}{'write ms':>10}{'parse ms':>10}{'parse fps':>11}")
    for k, r in stream.items():
        print(f"  {k:<18}{r['semantic_bits_per_frame']:>11.1f}{r['semantic_kbps_at_25fps']:>9.3f}"
              f"{r['write_ms']:>10.1f}{r['parse_ms']:>10.1f}{r['parse_frames_per_s']:>11.0f}")
    if args.json:
        prov = {"python": sys.version.split()[0], "machine": platform.machine(),
                "processor": platform.processor(), "args": vars(args)}
        with open(args.json, "w") as fh:
            json.dump({"engine": engine, "stream": stream, "provenance": prov}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
