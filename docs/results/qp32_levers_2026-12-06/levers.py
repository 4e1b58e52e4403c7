"""Three checks of levers for issue 14's QP 32 targets on campaign cells (scratch-sized studies).

    python docs/results/qp32_levers_2026-12-06/levers.py --campaign work/camp_cg_train --check teeth
    python docs/results/qp32_levers_2026-12-06/levers.py --campaign work/camp_cg_train --check person_correction
    python docs/results/qp32_levers_2026-12-06/levers.py --campaign work/camp_cg_test --check sent_mask

Run from the repository root. It reads each g7c cell of the campaign at --qp (the stream, and the
decoded video, which the script's own decode must reproduce where it says so), decodes the stream
again with the variant under test, and scores the campaign's strided frames (1 in 10) with
LPIPS-Alex, LPIPS-VGG and DISTS, plus PSNR-RGB over all frames. It prints one line per clip and
the means, and writes them as JSON to --out when given.

- teeth: would a signalled "teeth visible" flag pay? On the frames where the source plainly
  shows teeth (H.5's key-teeth rule on the source picture at the decoder's landmarks, with the
  teeth refresh's stricter limits), the teeth band is drawn taller and whiter ("white"), or in
  the source's own teeth colour ("source"); other frames as decoded. Also scores the teeth
  frames alone.
- person_correction: the correction grid (8.6.2) applied to the person layer only, with the
  levels as coded: alpha * corrected + (1 - alpha) * uncorrected, alpha the person layer's
  (or the same dilated by 5 pixels); also the uncorrected picture.
- sent_mask: the person mask a sent mask would give. "selfie" is MediaPipe's selfie
  segmentation of the decoded key frame in place of the derived mask (Annex G.3). "hybrid"
  adds that segmentation to the derived mask inside the head shell only (hair and ears, not the
  torso).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402
from conformance.campaign.cells import strided_indices  # noqa: E402
from conformance.metrics.aggregate import frame_scores_many  # noqa: E402
from conformance.metrics.psnr import psnr_from_mse  # noqa: E402
from ifvc_synthesis.correction_grid import apply_correction  # noqa: E402
from ifvc_synthesis.generators.geometric_7 import ToneMouthMeshGenerator  # noqa: E402
from ifvc_synthesis.generators.mesh_features import (GEOMETRIC_7_MOUTH, MouthStyle, _idx, lip_colour,  # noqa: E402
                                                     lip_gap, shows_teeth)
from ifvc_synthesis.generators.person_mask import SHELL_SCALE, _fill, derive_person_mask, face_frame  # noqa: E402
from ifvc_synthesis.idi import INNER_LIP_RING, OUTER_LOWER_LIP, OUTER_UPPER_LIP  # noqa: E402
from ref_decoder.decoder import DecodedFrame, Decoder  # noqa: E402
from ref_encoder.adaptive_refresh import TEETH_SOURCE_MIN_GAP_PX, TEETH_SOURCE_MIN_SHARE  # noqa: E402
from tools.generator_compare import selfie_mask  # noqa: E402

METRICS = ("lpips_alex", "lpips_vgg", "dists")


class StyledMouth(ToneMouthMeshGenerator):
    """geometric-7 whose mouth style can be set per frame (style None: H.10's)."""
    style: MouthStyle | None = None

    @property  # type: ignore[override]
    def mouth(self) -> MouthStyle:
        return self.style or GEOMETRIC_7_MOUTH


def _teeth_styles(source_colour: np.ndarray) -> dict[str, MouthStyle]:
    big = dict(teeth_band=0.5, teeth_max_band=0.14, neutral_teeth_opacity=0.9)
    return {"white": replace(GEOMETRIC_7_MOUTH, neutral_teeth=(235.0, 228.0, 215.0), neutral_teeth_lip=0.2, **big),
            "source": replace(GEOMETRIC_7_MOUTH, neutral_teeth=tuple(float(c) for c in source_colour),
                              neutral_teeth_lip=0.0, **big)}


def source_teeth(src: np.ndarray, gen: StyledMouth, values: np.ndarray) -> np.ndarray | None:
    """The source's teeth colour (mean of the brightest 40 % inside the decoder's inner-lip
    ring) where the source plainly shows teeth there, else None."""
    lm = gen.target_geometry(values).landmarks
    up, lo = gen.features._lip_rows(lm)
    if lip_gap(up, lo) < TEETH_SOURCE_MIN_GAP_PX:
        return None
    ring = lm[_idx(INNER_LIP_RING)]
    lip = lip_colour(src, lm[_idx(OUTER_UPPER_LIP + OUTER_LOWER_LIP)])
    if not shows_teeth(src, ring, up, lo, lip, TEETH_SOURCE_MIN_GAP_PX, TEETH_SOURCE_MIN_SHARE):
        return None
    inside = np.zeros(src.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(ring).astype(np.int32)], 1)
    px = src[inside > 0].astype(np.float32)
    luma = px.mean(axis=1)
    return px[luma > np.percentile(luma, 60)].mean(axis=0)


def teeth_versions(data: bytes, src: np.ndarray) -> tuple[dict[str, np.ndarray], list[int]]:
    """The decoded video and the two teeth variants, and the frames that drew a teeth band."""
    gen = StyledMouth()
    base = []
    colours: dict[int, np.ndarray] = {}
    for f in Decoder(generator=gen).decode(data):
        base.append(f.rgb)
        if f.kind != "key":
            colour = source_teeth(src[f.frame_idx], gen, np.asarray(f.values))
            if colour is not None:
                colours[f.frame_idx] = colour
    out = {"decoded": np.stack(base)}
    for name in ("white", "source"):
        gen = StyledMouth()
        frames = []
        gen.style = None                          # frame 0 is a key frame: no band drawn
        for f in Decoder(generator=gen).decode(data):
            frames.append(f.rgb)
            nxt = f.frame_idx + 1                 # the decoder draws the next frame on the next step
            gen.style = _teeth_styles(colours[nxt])[name] if nxt in colours else None
        out[name] = np.stack(frames)
    return out, sorted(colours)


class _Layers(Decoder):
    """A decoder that keeps, per frame, the generator's picture, the corrected one and the
    person-only corrections."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[int, dict[str, np.ndarray]] = {}

    def _synth(self, idx: int, levels: list[int], kind: str) -> DecodedFrame:
        values = self._values(levels)
        img, _, _, layers, _ = self.generator.synthesize_with_layers(values)  # type: ignore[union-attr]
        out = {"uncorrected": img, "decoded": img, "person": img, "person_dilated": img}
        if self._correction is not None and kind != "key":
            corrected = apply_correction(img, self._correction, levels)
            out["decoded"] = corrected
            for name, alpha in (("person", layers.person_alpha),
                                ("person_dilated", cv2.dilate(layers.person_alpha, np.ones((11, 11), np.uint8)))):
                a = alpha.astype(np.float32)[..., None]
                out[name] = np.clip(np.rint(a * corrected + (1 - a) * img), 0, 255).astype(np.uint8)
        self.kept[idx] = out
        return DecodedFrame(idx, out["decoded"], values, levels, kind)


def person_correction_versions(data: bytes) -> dict[str, np.ndarray]:
    dec = _Layers()
    frames = list(dec.decode(data))
    names = ("decoded", "uncorrected", "person", "person_dilated")
    return {n: np.stack([dec.kept[f.frame_idx][n] if f.frame_idx in dec.kept else f.rgb for f in frames])
            for n in names}


def _hybrid_generator() -> ToneMouthMeshGenerator:
    gen = ToneMouthMeshGenerator()

    def mask(rgb: np.ndarray) -> np.ndarray:
        assert gen.model is not None
        lm = gen.model.key_landmarks
        contour, c, _, _, _, _ = face_frame(lm)
        rel = contour - c
        shell = c + rel * np.where(rel[:, 1:2] < 0, np.array(SHELL_SCALE), np.array([SHELL_SCALE[0], 1.1]))
        head = np.zeros(rgb.shape[:2], np.uint8)
        _fill(head, shell)
        return derive_person_mask(rgb, lm) | (selfie_mask(rgb) & head)

    gen.mask_source = mask
    return gen


def sent_mask_versions(data: bytes, decoded: np.ndarray) -> dict[str, np.ndarray]:
    return {"decoded": decoded,
            "selfie": np.stack([f.rgb for f in Decoder(generator=ToneMouthMeshGenerator(mask_source=selfie_mask))
                                .decode(data)]),
            "hybrid": np.stack([f.rgb for f in Decoder(generator=_hybrid_generator()).decode(data)])}


def scores(src: np.ndarray, versions: dict[str, np.ndarray], frames: list[int]) -> dict[str, dict[str, float]]:
    scored = frame_scores_many(src[frames], [v[frames] for v in versions.values()], list(METRICS))
    out = {}
    for (name, video), s in zip(versions.items(), scored):
        mse = float(np.mean((video.astype(np.float64) - src[:len(video)]) ** 2))
        out[name] = {"psnr_rgb": float(psnr_from_mse(mse)), **{m: float(s[m].mean()) for m in METRICS}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", required=True)
    ap.add_argument("--codec", default="g7c")
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--check", required=True, choices=["teeth", "person_correction", "sent_mask"])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(2)
    cv2.setNumThreads(1)
    result: dict[str, dict] = {}
    for cell in sorted(Path(args.campaign, "cells", args.codec).iterdir()):
        name = cell.name
        data = (cell / f"{name}_{args.codec}_qp{args.qp}.ifvc").read_bytes()
        decoded = read_rgb444(cell / f"{name}_{args.codec}_qp{args.qp}.rgb", 256, 256)
        src = read_rgb444(Path("work/sequences") / f"{name}_256x256_25_8bit_444.rgb", 256, 256, len(decoded))
        teeth: list[int] = []
        if args.check == "teeth":
            versions, teeth = teeth_versions(data, src)
        elif args.check == "person_correction":
            versions = person_correction_versions(data)
        else:
            versions = sent_mask_versions(data, decoded)
        if not np.array_equal(versions["decoded"], decoded):
            raise SystemExit(f"{name}: this decode does not reproduce the campaign's decoded video")
        row: dict = {"scores": scores(src, versions, strided_indices(len(decoded), 10))}
        if teeth:
            row["teeth_frames"] = len(teeth)
            row["teeth_scores"] = scores(src, versions, teeth)
        result[name] = row
        print(name, " | ".join(f"{v}: " + " ".join(f"{s[m]:.4f}" for m in ("psnr_rgb",) + METRICS)
                               for v, s in row["scores"].items()), flush=True)
    first = next(iter(result.values()))["scores"]
    print("mean over clips (PSNR-RGB, LPIPS-Alex, LPIPS-VGG, DISTS):")
    for v in first:
        print(f"  {v}: " + " ".join(f"{np.mean([r['scores'][v][m] for r in result.values()]):.4f}"
                                    for m in ("psnr_rgb",) + METRICS))
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["levers.py"] + sys.argv[1:]), "clips": result}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
