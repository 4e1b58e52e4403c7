"""Where the decoded pictures lose: each region of the decoded frame replaced by the source's
(feathered, Gaussian sigma 1.5), every 10th frame from frame 5, scored as the campaign scores.

    python docs/results/correction_grid_2026-12-06/region_oracle.py CAMPAIGN CODEC QP

Regions, from MediaPipe on the source picture (face mesh, static mode) and the selfie
segmentation of the source and of the decoded picture:
- face: the convex hull of the 468 face-mesh points; eyes, mouth: hulls of the eye and outer
  lip contours dilated by 3 pixels;
- person: the union of both selfie masks (threshold 0.5) dilated by 2 pixels; background: the
  rest; person_nonface: person minus face, split at the chin (point 152) into head_nonface
  (hair, ears, forehead above the mesh) and body (neck, shoulders, clothes);
- silhouette: a band of 4 pixels each side of the source's selfie-mask outline.
Prints per clip and the mean over clips of PSNR-RGB, LPIPS-Alex, LPIPS-VGG and DISTS.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.aggregate import frame_scores_many
from conformance.metrics.psnr import psnr_from_mse

H = W = 256
LEFT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
RIGHT_EYE = [362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398]
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
CHIN = 152


def hull(points: np.ndarray, dilate: int = 0) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points.astype(np.int32)), 1)
    if dilate:
        mask = cv2.dilate(mask, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    return mask.astype(bool)


def regions(points: np.ndarray, person_source: np.ndarray, person_decoded: np.ndarray) -> dict[str, np.ndarray]:
    face = hull(points)
    person = cv2.dilate((person_source | person_decoded).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    above = (np.arange(H)[:, None] < points[CHIN, 1]) & np.ones((1, W), bool)
    ring = np.ones((9, 9), np.uint8)
    outline = person_source.astype(np.uint8)
    return {"none": np.zeros((H, W), bool), "face": face,
            "eyes": hull(points[LEFT_EYE], 3) | hull(points[RIGHT_EYE], 3), "mouth": hull(points[LIPS], 3),
            "person_nonface": person & ~face, "head_nonface": person & ~face & above, "body": person & ~face & ~above,
            "silhouette": cv2.dilate(outline, ring).astype(bool) & ~cv2.erode(outline, ring).astype(bool),
            "background": ~person, "all_person": person}


def main() -> int:
    campaign, codec, qp = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
    selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    totals: dict[str, dict[str, list[float]]] = {}
    for folder in sorted((campaign / "cells" / codec).iterdir()):
        name = folder.name
        source = read_rgb444(Path("work/sequences") / f"{name}_256x256_25_8bit_444.rgb", W, H, 100)
        decoded = read_rgb444(folder / f"{name}_{codec}_qp{qp}.rgb", W, H, 100)
        composites: dict[str, list[np.ndarray]] = {}
        used = []
        for t in range(5, len(decoded), 10):
            found = mesh.process(source[t]).multi_face_landmarks
            if not found:
                continue
            used.append(t)
            points = np.array([[p.x * W, p.y * H] for p in found[0].landmark])
            masks = regions(points, selfie.process(source[t]).segmentation_mask >= 0.5,
                            selfie.process(decoded[t]).segmentation_mask >= 0.5)
            for region, mask in masks.items():
                alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.5)[..., None]
                composites.setdefault(region, []).append(np.round(alpha * source[t] + (1 - alpha) * decoded[t]).astype(np.uint8))
        reference = source[used]
        names = list(composites)
        scores = frame_scores_many(reference, [np.stack(composites[r]) for r in names], ["lpips_alex", "lpips_vgg", "dists"])
        row = {}
        for region, s in zip(names, scores):
            mse = float(np.mean((reference.astype(np.float64) - np.stack(composites[region])) ** 2))
            row[region] = {"psnr_rgb": float(psnr_from_mse(mse)), **{m: float(np.mean(v)) for m, v in s.items()}}
            for m, x in row[region].items():
                totals.setdefault(region, {}).setdefault(m, []).append(x)
        print(name, json.dumps({r: {m: round(x, 4) for m, x in v.items()} for r, v in row.items()}), flush=True)
    print("| region replaced by the source | PSNR-RGB | LPIPS-Alex | LPIPS-VGG | DISTS |")
    print("|---|---|---|---|---|")
    for region, v in totals.items():
        print(f"| {region} | {np.mean(v['psnr_rgb']):.2f} | {np.mean(v['lpips_alex']):.4f} | "
              f"{np.mean(v['lpips_vgg']):.4f} | {np.mean(v['dists']):.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
