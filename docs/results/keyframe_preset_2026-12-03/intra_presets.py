"""Key-frame coding cost of each VVenC preset: the first frame of each test-split clip coded
as the encoder codes a key frame (ref_encoder.keyframe_coding.encode_vvc_intra) at the four
key-frame QPs. Bits, PSNR-RGB of the decoded key frame and VVenC's CPU seconds (children's
user+system time, so the number does not depend on the machine's load).

Run from the repository root:
    python docs/results/keyframe_preset_2026-12-03/intra_presets.py [--sequences work/sequences]
"""
from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

import numpy as np

from ref_encoder.keyframe_coding import KEYFRAME_PRESETS, encode_vvc_intra

TEST_SPLIT = ["fomm_demo_old_08", "pcavs_Pose_Source_620900105", "sadtalker_RD_Radio34_000",
              "videoretalking_face_2", "liveportrait_driving_d10", "liveportrait_driving_d13",
              "liveportrait_driving_d20"]
QPS = [22, 32, 42, 52]
HERE = Path(__file__).parent


def first_frame(path: Path) -> np.ndarray:
    planes = np.fromfile(path, np.uint8, count=256 * 256 * 3).reshape(3, 256, 256)
    return np.ascontiguousarray(planes.transpose(1, 2, 0))


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255 ** 2 / mse)


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sequences", default="work/sequences")
    args = ap.parse_args()
    frames = {s: first_frame(Path(args.sequences) / f"{s}_256x256_25_8bit_444.rgb") for s in TEST_SPLIT}
    rows = []
    for preset in KEYFRAME_PRESETS:
        for qp in QPS:
            c0 = child_cpu()
            coded = {s: encode_vvc_intra(f, qp, preset=preset) for s, f in frames.items()}
            cpu = (child_cpu() - c0) / len(frames)
            rows.append({"preset": preset, "qp": qp,
                         "bits": float(np.mean([len(c.payload) * 8 for c in coded.values()])),
                         "psnr_rgb": float(np.mean([psnr_rgb(c.decoded, frames[s]) for s, c in coded.items()])),
                         "cpu_s": cpu})
            print(rows[-1], flush=True)
    base = {r["qp"]: r for r in rows if r["preset"] == "faster"}
    lines = ["| preset | QP | bits per key frame | vs faster | PSNR-RGB | vs faster | CPU s per key frame |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        b = base[r["qp"]]
        lines.append(f"| {r['preset']} | {r['qp']} | {r['bits']:.0f} | {100 * (r['bits'] / b['bits'] - 1):+.1f} % | "
                     f"{r['psnr_rgb']:.2f} dB | {r['psnr_rgb'] - b['psnr_rgb']:+.2f} dB | {r['cpu_s']:.2f} |")
    (HERE / "intra_presets.json").write_text(json.dumps(rows, indent=1) + "\n")
    (HERE / "intra_presets.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
