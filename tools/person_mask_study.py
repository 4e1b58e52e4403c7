"""Study: is the decoder-derived person mask of ifvc-geometric-2 (Annex G.3) good enough, or
must the encoder send one (a geometry payload with a mask, a syntax change for spec 1.2)?

    python -m tools.person_mask_study --sequences work/seq [--split test validation] [--every 25]
                                      [--out docs/results/generator2_<date>/person_mask_study.md]

For frames 0, every, 2*every, ... of each prepared sequence of the split it computes the
key-frame geometry as the encoder does, decodes it as the decoder does, derives the person
mask (prior only, and prior refined by colour) and compares both with MediaPipe's selfie
segmentation (the general model, 256x256, threshold 0.5: the mask an encoder would send) by
IoU. It also codes the selfie mask compactly, to size the payload option: a 32x32 (and
16x16) binary mask, raster run lengths as ue(v) (first bit: the value of the first run),
with the IoU that mask keeps after upsampling; and an 8-connected contour simplified by
Douglas-Peucker (1.5 pixels) at 2 x 8 bits a point.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

SPLIT_FILE = Path(__file__).resolve().parent / "test_split.json"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(((a > 0) | (b > 0)).sum())
    return 1.0 if union == 0 else int(((a > 0) & (b > 0)).sum()) / union


def ue_bits(v: int) -> int:
    """Length of the Exp-Golomb code ue(v) (spec 9.2)."""
    return 2 * int(np.floor(np.log2(v + 1))) + 1


def rle_bits(mask: np.ndarray) -> int:
    flat = mask.reshape(-1).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [len(flat)]]))
    return 1 + sum(ue_bits(int(r) - 1) for r in runs)


def low_res(mask: np.ndarray, n: int) -> np.ndarray:
    return (cv2.resize(mask.astype(np.float32), (n, n), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)


def contour_points(mask: np.ndarray) -> int:
    cs, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return sum(len(cv2.approxPolyDP(c, 1.5, True)) for c in cs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True, help="folder of prepared sequences")
    ap.add_argument("--split", nargs="+", default=["test"], choices=["train", "validation", "test"])
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--out", type=Path, help="Markdown report to write")
    args = ap.parse_args(argv)
    from mediapipe.python.solutions import selfie_segmentation

    from bitstream.geometry_payload import GEOMETRY_VERSION_V1, decode
    from ifvc_synthesis.generators.person_mask import derive_person_mask
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    split = json.loads(SPLIT_FILE.read_text())
    names = [n for s in args.split for n in split[s]]
    rows = []
    with selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        for name in names:
            path = args.sequences / f"{name}_256x256_25_8bit_444.rgb"
            if not path.is_file():
                print(f"skip {name}: {path} not found", file=sys.stderr)
                continue
            frames = read_rgb444(path, max_frames=args.frames)
            for i in range(0, len(frames), args.every):
                rgb = frames[i]
                values, payload = compute_keyframe_geometry(rgb)
                h, w = rgb.shape[:2]
                geom = decode(payload, width=w, height=h, ref_values=values)
                assert GEOMETRY_VERSION_V1 == 1
                selfie = (seg.process(rgb).segmentation_mask >= 0.5).astype(np.uint8)
                prior = derive_person_mask(rgb, geom.points, refine=False)
                refined = derive_person_mask(rgb, geom.points)
                row = dict(seq=name, frame=i, iou_prior=iou(prior, selfie), iou_refined=iou(refined, selfie),
                           person=float(selfie.mean()))
                for n in (32, 16):
                    small = low_res(selfie, n)
                    up = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
                    row[f"rle{n}_bytes"] = (rle_bits(small) + 7) // 8
                    row[f"iou{n}"] = iou(up, selfie)
                row["contour_points"] = contour_points(selfie)
                rows.append(row)
                print(f"{name} {i}: IoU prior {row['iou_prior']:.3f} refined {row['iou_refined']:.3f} "
                      f"32x32 RLE {row['rle32_bytes']} B (IoU {row['iou32']:.3f}) contour {row['contour_points']} pts",
                      flush=True)
    if not rows:
        print("error: no sequence found", file=sys.stderr)
        return 2
    lines = ["| sequence | frames | person share (selfie) | IoU prior | IoU prior + colour | 32x32 RLE bytes | IoU 32x32 | "
             "16x16 RLE bytes | IoU 16x16 | contour points |", "|---|---|---|---|---|---|---|---|---|---|"]
    keys = ("person", "iou_prior", "iou_refined", "rle32_bytes", "iou32", "rle16_bytes", "iou16", "contour_points")
    for name in dict.fromkeys(r["seq"] for r in rows):
        rs = [r for r in rows if r["seq"] == name]
        m = {k: float(np.mean([r[k] for r in rs])) for k in keys}
        lines.append(f"| {name} | {len(rs)} | {m['person']:.2f} | {m['iou_prior']:.3f} | {m['iou_refined']:.3f} | "
                     f"{m['rle32_bytes']:.1f} | {m['iou32']:.3f} | {m['rle16_bytes']:.1f} | {m['iou16']:.3f} | "
                     f"{m['contour_points']:.1f} |")
    m = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    lines.append(f"| **mean** | {len(rows)} | {m['person']:.2f} | {m['iou_prior']:.3f} | {m['iou_refined']:.3f} | "
                 f"{m['rle32_bytes']:.1f} | {m['iou32']:.3f} | {m['rle16_bytes']:.1f} | {m['iou16']:.3f} | "
                 f"{m['contour_points']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Person mask: derived at the decoder vs MediaPipe selfie segmentation\n\n"
                            f"`python -m tools.person_mask_study {' '.join(argv or sys.argv[1:])}`\n\n{table}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
