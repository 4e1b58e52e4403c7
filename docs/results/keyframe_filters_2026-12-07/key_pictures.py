"""VVenC options for the key pictures at one QP, scored on key pictures alone (issue 14, QP 32 DISTS).

Frames 0 and 50 of each clip of a split are coded as the encoder codes a key picture (VVenC intra,
preset medium, no QPA) with each variant's -vvenc-params, decoded, and scored against the source
as decoded and as ifvc-geometric-10's KeyRestoreNet restores them (the picture every synthesised
frame draws from). Printed: mean bits, then PSNR-RGB, LPIPS-Alex, LPIPS-VGG and DISTS of the
decoded and of the restored pictures.

    python docs/results/keyframe_filters_2026-12-07/key_pictures.py --split test --qp 32 [--variants NAME ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.generator_registry import GENERATOR_BY_NAME  # noqa: E402
from bitstream.raw_video import read_rgb444  # noqa: E402
from conformance.metrics.aggregate import frame_scores_many  # noqa: E402
from conformance.metrics.psnr import psnr_from_mse  # noqa: E402
from ifvc_synthesis.generators.geometric_10 import WEIGHTS  # noqa: E402
from ifvc_synthesis.generators.key_restore import load_network, restore_key_picture  # noqa: E402
from ref_encoder.keyframe_coding import vvenc_intra  # noqa: E402

CLIPS = {
    "test": ["fomm_demo_old_08", "liveportrait_driving_d10", "liveportrait_driving_d13", "liveportrait_driving_d20",
             "pcavs_Pose_Source_620900105", "sadtalker_RD_Radio34_000", "videoretalking_face_2"],
    "train": ["fomm_demo_old_00", "liveportrait_driving_d5", "liveportrait_driving_d6", "liveportrait_driving_d11",
              "liveportrait_driving_d14", "pcavs_Audio_Source_681100216", "pcavs_Input_00002",
              "videoretalking_face_1"],
}
DEBLOCK = "LoopFilterTcOffset_div2={0}:LoopFilterBetaOffset_div2={0}"
VARIANTS = {                      # name: (QPA, -vvenc-params)
    "base": (0, ""),
    "qpa1": (1, ""),
    "noalf": (0, "ALF=0:CCALF=0"),
    "nosao": (0, "SAO=0"),
    "dbk-4": (0, DEBLOCK.format(-4)),
    "dbk+2": (0, DEBLOCK.format(2)),
    "nodq": (0, "DepQuant=0"),
    "noalf_dbk+2": (0, "ALF=0:CCALF=0:" + DEBLOCK.format(2)),
    "noalfsao_dbk+2": (0, "ALF=0:CCALF=0:SAO=0:" + DEBLOCK.format(2)),
}
METRICS = ["lpips_alex", "lpips_vgg", "dists"]


def code(frame: np.ndarray, qp: int, qpa: int, params: str) -> tuple[int, np.ndarray]:
    """Bits and decoded picture of one key picture coded with these VVenC settings (medium)."""
    coded = vvenc_intra(frame, qp, "medium", params, qpa=bool(qpa))
    return len(coded.payload) * 8, coded.decoded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=list(CLIPS), default="test")
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    args = ap.parse_args()
    net = load_network(WEIGHTS, GENERATOR_BY_NAME["ifvc-geometric-10"].weights_sha256.hex())
    sources: list[np.ndarray] = []
    bits: dict[str, list[int]] = {v: [] for v in args.variants}
    decoded: dict[str, list[np.ndarray]] = {v: [] for v in args.variants}
    restored: dict[str, list[np.ndarray]] = {v: [] for v in args.variants}
    for clip in CLIPS[args.split]:
        video = read_rgb444(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256)
        for f in (0, 50):
            sources.append(video[f])
            for v in args.variants:
                b, pic = code(video[f], args.qp, *VARIANTS[v])
                bits[v].append(b)
                decoded[v].append(pic)
                restored[v].append(restore_key_picture(net, pic, b))
    src = np.stack(sources)

    def psnr(pictures: list[np.ndarray]) -> float:
        return float(np.mean([psnr_from_mse(float(np.mean((p.astype(np.float64) - s) ** 2)))
                              for p, s in zip(pictures, sources)]))

    scored_d = frame_scores_many(src, [np.stack(decoded[v]) for v in args.variants], METRICS)
    scored_r = frame_scores_many(src, [np.stack(restored[v]) for v in args.variants], METRICS)
    print(f"{args.split}, QP {args.qp}, {len(sources)} pictures: variant, bits | decoded PSNR-RGB "
          f"{' '.join(METRICS)} | restored PSNR-RGB {' '.join(METRICS)}")
    for v, d, r in zip(args.variants, scored_d, scored_r):
        print(f"{v:15s} {np.mean(bits[v]):8.0f} | {psnr(decoded[v]):.2f} "
              + " ".join(f"{d[m].mean():.4f}" for m in METRICS)
              + f" | {psnr(restored[v]):.2f} " + " ".join(f"{r[m].mean():.4f}" for m in METRICS))


if __name__ == "__main__":
    main()
