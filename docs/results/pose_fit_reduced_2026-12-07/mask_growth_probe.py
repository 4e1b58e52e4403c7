"""Probe (not a generator): does a background model grown into the possible-person region make the
key frame's derived person mask (Annex G.3) hold less background, and does that help the pictures?

    python docs/results/pose_fit_reduced_2026-12-07/mask_growth_probe.py iou --sequences work/sequences
    python docs/results/pose_fit_reduced_2026-12-07/mask_growth_probe.py decode --campaign work/camp_g7r128_test \
        --codec g7r128 --qp 32 --sequences work/sequences --clips CLIP ...

G.3 step 3 models the background inside the possible region P by a push-pull fill of the pixels
outside P at 1/8 resolution. Where the background is lit unevenly (lighter near the head), the
band just outside the head differs from that model by more than the threshold T and is taken as
person: the person layer then moves that band with the head, a ghost of the head's outline
(pcavs_Pose_Source_620900105 frame 98, ghost_diagnosis.py). The grown variant adds to the known
background, GROW_ITERATIONS times, the pixels of P minus the sure region S within GROW_STEP pixels
of the known background whose colour lies within T of the current model, and fits the model again
(push-pull at 1/4 resolution); the rest of G.3 (threshold, clean-up) is unchanged.

iou: for frames 0, 20, 40, 60, 80 of each test clip, the key geometry as the encoder computes it
and both masks, against MediaPipe's selfie segmentation (threshold 1/2) as in
tools/person_mask_study.py: IoU, and the share of the picture each mask takes as person where the
selfie mask says background (false person) or leaves out where it says person (missed).
decode: each clip's campaign stream decoded twice, with G.3's mask and with the grown one (the
generator's derive_person_mask swapped), PSNR-RGB of every frame against the source. The streams
were coded with G.3's mask, so the refresh and correction choices are G.3's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

import ifvc_synthesis.generators.layered as layered
import ifvc_synthesis.generators.person_mask as pm

GROW_ITERATIONS = 8
GROW_STEP = 5                # pixels the known background may advance per iteration
GROW_LEVEL = 2               # pyramid level of the regrown model (1/4 resolution)
SPLIT = Path(__file__).resolve().parents[3] / "tools" / "test_split.json"


def grown_mask(key_rgb: np.ndarray, landmarks: np.ndarray, refine: bool = True) -> np.ndarray:
    """G.3 with the background model grown into P minus S (see the module docstring)."""
    h, w = key_rgb.shape[:2]
    sure, possible = pm.prior_masks(landmarks, h, w)
    if not refine:
        return possible
    blur = cv2.blur(key_rgb.astype(np.float32), (3, 3), borderType=cv2.BORDER_REPLICATE)
    known = (1 - possible).astype(np.uint8)
    if known.sum() < 16:
        return possible
    diff = np.abs(blur - pm._coarse_background(blur, known.astype(np.float32))).max(axis=2)
    ring = cv2.dilate(possible, np.ones((9, 9), np.uint8)) & (1 - possible)
    rough = float(diff[ring > 0].mean()) if ring.any() else 0.0
    threshold = float(np.clip(pm.THRESHOLD_GAIN * rough, pm.THRESHOLD_MIN, pm.THRESHOLD_MAX))
    kernel = np.ones((2 * GROW_STEP + 1,) * 2, np.uint8)
    level = pm.BACKGROUND_LEVEL
    for _ in range(GROW_ITERATIONS):
        near = cv2.dilate(known, kernel) & possible & (1 - sure) & (1 - known)
        add = near & (diff <= threshold).astype(np.uint8)
        if not add.any():
            break
        known |= add
        pm.BACKGROUND_LEVEL = GROW_LEVEL
        try:
            diff = np.abs(blur - pm._coarse_background(blur, known.astype(np.float32))).max(axis=2)
        finally:
            pm.BACKGROUND_LEVEL = level
    return pm.clean_up(possible & (1 - known) & (diff > threshold).astype(np.uint8), sure, possible)


def iou_study(sequences: Path) -> dict:
    import mediapipe as mp

    from bitstream.geometry_payload import decode
    from bitstream.raw_video import read_rgb444
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    masks = {"G.3": pm.derive_person_mask, "grown": grown_mask}
    rows: dict[str, dict[str, list[tuple[float, float, float]]]] = {m: {} for m in masks}
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        for name in json.loads(SPLIT.read_text())["test"]:
            frames = read_rgb444(sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=100)
            for i in range(0, len(frames), 20):
                rgb = frames[i]
                values, payload = compute_keyframe_geometry(rgb)
                points = decode(payload, width=rgb.shape[1], height=rgb.shape[0], ref_values=values).points
                selfie = seg.process(rgb).segmentation_mask >= 0.5
                for m, derive in masks.items():
                    mask = derive(rgb, points) > 0
                    union = max(int((mask | selfie).sum()), 1)
                    rows[m].setdefault(name, []).append((int((mask & selfie).sum()) / union,
                                                         float((mask & ~selfie).mean()), float((~mask & selfie).mean())))
    return {m: {c: [float(np.mean(col)) for col in zip(*r)] for c, r in per.items()} for m, per in rows.items()}


def decode_study(campaign: Path, codec: str, qp: int, sequences: Path, clips: list[str]) -> dict:
    from ref_decoder.decoder import Decoder
    out = {}
    for clip in clips:
        stream = (campaign / "cells" / codec / clip / f"{clip}_{codec}_qp{qp}.ifvc").read_bytes()
        size = 256
        src = np.fromfile(sequences / f"{clip}_256x256_25_8bit_444.rgb", np.uint8).reshape(-1, 3, size, size)
        psnr = {}
        for m, derive in (("G.3", pm.derive_person_mask), ("grown", grown_mask)):
            layered.derive_person_mask = derive
            try:
                psnr[m] = [10 * np.log10(255.0 ** 2 / max(float(np.mean((f.rgb.astype(np.float64)
                                                                        - src[f.frame_idx].transpose(1, 2, 0)) ** 2)), 1e-9))
                           for f in Decoder().decode(stream)]
            finally:
                layered.derive_person_mask = pm.derive_person_mask
        d = np.array(psnr["grown"]) - np.array(psnr["G.3"])
        out[clip] = {"G.3": float(np.mean(psnr["G.3"])), "grown": float(np.mean(psnr["grown"])),
                     "worst": [int(i) for i in np.argsort(d)[:2]], "best": [int(i) for i in np.argsort(d)[-2:]],
                     "frames": {m: [round(float(v), 3) for v in p] for m, p in psnr.items()}}
        print(f"{clip}: G.3 {out[clip]['G.3']:.3f} dB, grown {out[clip]['grown']:.3f} dB; most worse {out[clip]['worst']}, "
              f"most better {out[clip]['best']}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["iou", "decode"])
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--campaign", type=Path)
    ap.add_argument("--codec", default="g7r128")
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--clips", nargs="+", default=[])
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.mode == "iou":
        result = iou_study(a.sequences)
        for m, per in result.items():
            mean = np.mean(list(per.values()), axis=0)
            print(f"{m:6s} IoU {mean[0]:.3f}, false person {mean[1]:.3f}, missed {mean[2]:.3f} of the picture; IoU per clip "
                  + " ".join(f"{c}={v[0]:.3f}" for c, v in per.items()))
    else:
        if a.campaign is None or not a.clips:
            print("error: decode needs --campaign and --clips", file=sys.stderr)
            return 2
        result = decode_study(a.campaign, a.codec, a.qp, a.sequences, a.clips)
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
