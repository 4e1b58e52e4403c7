"""Oracle (issue 14, QP 32 DISTS): where does ifvc-geometric-10 show its background plate inside the
newest key frame's person mask (the region the key frame's person covered and the frame's person layer,
alpha < 0.5, no longer covers)? That region of each scored frame (every 10th from 5) is replaced, edge
feathered (Gaussian, sigma 1.5 px), by the source ("region_from_source": what any fill of it could give
at most), or by the newest older key picture whose person mask, grown by 4 px, leaves the pixel as
background ("region_from_older_reference": a multi-reference plate, unaligned). Prints one JSON line a
clip: LPIPS-VGG and DISTS of each version, the region's share of the picture, the share an older
reference could fill, the key frames. The decoded row equals the campaign's (checked by hand against
results_test.csv).

    python docs/results/plate_region_oracle_2026-12-07/region_oracle.py work/camp_g10_test g10 32 CLIP ...
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402
from conformance.campaign.cells import strided_indices  # noqa: E402
from conformance.metrics.aggregate import frame_scores_many  # noqa: E402
from ifvc_synthesis.generators import get_generator  # noqa: E402
from ref_decoder.decoder import Decoder  # noqa: E402

VERSIONS = ("decoded", "region_from_source", "region_from_older_reference")


def feathered(picture: np.ndarray, other: np.ndarray, region: np.ndarray) -> np.ndarray:
    soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.5)[..., None]
    return (picture * (1 - soft) + other * soft + 0.5).astype(np.uint8)


def clip_oracle(stream: bytes, source: np.ndarray) -> dict:
    gen = get_generator("ifvc-geometric-10")
    refs: list[tuple[int, np.ndarray, np.ndarray]] = []   # (frame, decoded key picture, person mask)
    scored = sorted(int(i) for i in strided_indices(len(source), 10))
    versions: list[list[np.ndarray]] = [[], [], []]
    share, older_share = [], []
    for f in Decoder(generator=gen).decode(stream):
        if f.kind == "key":
            refs.append((f.frame_idx, f.rgb, gen.person_mask.copy()))
        if f.frame_idx not in scored:
            continue
        region = np.zeros(f.rgb.shape[:2], bool)
        if f.kind != "key":
            region = (refs[-1][2] > 0) & (gen.person_alpha(np.asarray(f.values)) < 0.5)
        older, got = f.rgb.astype(np.float32), np.zeros(region.shape, bool)
        for _, rgb, mask in reversed(refs[:-1]):
            take = region & ~got & (cv2.dilate(mask, np.ones((9, 9), np.uint8)) == 0)
            older[take] = rgb[take]
            got |= take
        versions[0].append(f.rgb)
        versions[1].append(feathered(f.rgb, source[f.frame_idx], region))
        versions[2].append(feathered(f.rgb, older, got))
        share.append(region.mean())
        older_share.append(got.mean())
    scores = frame_scores_many(source[scored], [np.stack(v) for v in versions], ["lpips_vgg", "dists"])
    out: dict = {n: {m: float(s[m].mean()) for m in s} for n, s in zip(VERSIONS, scores)}
    out.update(region_share=float(np.mean(share)), older_reference_share=float(np.mean(older_share)),
               keys=[r[0] for r in refs])
    return out


def main() -> None:
    campaign, codec, qp = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for clip in sys.argv[4:]:
        stream = (campaign / "cells" / codec / clip / f"{clip}_{codec}_qp{qp}.ifvc").read_bytes()
        source = read_rgb444(Path("work/sequences") / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, 100)
        print(clip, json.dumps(clip_oracle(stream, source)), flush=True)


if __name__ == "__main__":
    main()
