"""Decoder speed of two generators on the same streams, alternating stream by stream and
generator by generator (a machine that speeds up or slows down affects both alike); also checks
that each generator's output is the same in every round.

    python docs/results/geometric8_mask_2026-12-07/bench_decoder_generators.py --rounds 2 \
        --generators ifvc-geometric-7 ifvc-geometric-8 STREAM.ifvc ...
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ifvc_synthesis.generators import get_generator  # noqa: E402
from ref_decoder.decoder import Decoder  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("streams", nargs="+", type=Path)
    ap.add_argument("--generators", nargs=2, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    digests: dict[tuple[str, str], set[str]] = {}
    for r in range(a.rounds):
        for stream in a.streams:
            data = stream.read_bytes()
            for name in a.generators:
                t = time.perf_counter()
                md5 = hashlib.md5()
                n = 0
                for frame in Decoder(generator=get_generator(name)).decode(data):
                    md5.update(frame.rgb.tobytes())
                    n += 1
                fps = n / (time.perf_counter() - t)
                digests.setdefault((stream.name, name), set()).add(md5.hexdigest())
                print(f"round {r + 1} {stream.name} {name}: {fps:.1f} frames/s", flush=True)
    same = all(len(d) == 1 for d in digests.values())
    print("identical output in every round:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
