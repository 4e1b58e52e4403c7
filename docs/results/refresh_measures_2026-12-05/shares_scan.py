"""The invented and failed shares (ref_encoder/adaptive_refresh.py) of a campaign's streams, as
the encoder would measure them: every frame at least REFRESH_MIN_GAP frames after its key frame,
drawn by the decoder. Tells on which clips and QPs a limit would fire (those a sweep must run).

    python docs/results/refresh_measures_2026-12-05/shares_scan.py --campaign work/camp_train_base \
        --codec g5_auto --sequences SEQ ... --out work/shares_train.json

Prints per clip and QP the number of key frames and the largest invented and failed share (%);
writes every measured (frame, share) pair as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from ref_decoder.decoder import Decoder
from ref_encoder.adaptive_refresh import REFRESH_MIN_GAP, failed_share, invented_share

POINTS = (22, 32, 42, 52)


def scan(stream: Path, source: Path) -> dict[str, list]:
    """Key frames and the (frame, share %) pairs of one stream against its source. Each frame is
    drawn once: the decoder's generator draws it with synthesize_with_layers (the same picture),
    which leaves the field and person alpha of the invented share."""
    frames = read_rgb444(source)
    decoder = Decoder()
    field: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def drawn_with_field(values: np.ndarray) -> np.ndarray:
        picture, map_x, map_y, layers, _ = generator.synthesize_with_layers(values)
        field[:] = [(map_x, map_y, layers.person_alpha)]
        return picture

    keys: list[int] = []
    invented: list[tuple[int, float]] = []
    failed: list[tuple[int, float]] = []
    for frame, src in zip(decoder.decode(stream.read_bytes()), frames):
        if frame.kind == "key":
            keys.append(frame.frame_idx)
            generator = decoder.generator
            generator.synthesize = drawn_with_field      # this decoder's instance only
            continue
        if frame.frame_idx - keys[-1] < REFRESH_MIN_GAP:
            continue
        (map_x, map_y, alpha), = field
        invented.append((frame.frame_idx, 100 * invented_share(map_x, map_y, alpha)))
        failed.append((frame.frame_idx, 100 * failed_share(frame.rgb, src)))
    return {"keys": keys, "invented": invented, "failed": failed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", type=Path, required=True)
    ap.add_argument("--codec", required=True)
    ap.add_argument("--sequences", nargs="+", required=True)
    ap.add_argument("--points", nargs="+", type=int, default=list(POINTS), help="key-frame QPs (default all four)")
    ap.add_argument("--sequences-dir", type=Path, default=Path("work/sequences"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    result = {}
    for seq in args.sequences:
        source = args.sequences_dir / f"{seq}_256x256_25_8bit_444.rgb"
        for qp in args.points:
            stream = args.campaign / "cells" / args.codec / seq / f"{seq}_{args.codec}_qp{qp}.ifvc"
            if not stream.is_file() or not source.is_file():
                print(f"error: {stream if not stream.is_file() else source} is not a file", file=sys.stderr)
                return 2
            r = scan(stream, source)
            result[f"{seq}|{qp}"] = r
            top = [max((v for _, v in r[k]), default=0.0) for k in ("invented", "failed")]
            print(f"{seq} QP {qp}: {len(r['keys'])} key frames, invented {top[0]:.1f} %, failed {top[1]:.1f} %",
                  flush=True)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
