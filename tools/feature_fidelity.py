"""Study: how the generators draw the eyes and the mouth when they change (issue 14 item 3).

    python -m tools.feature_fidelity --sequences work/sequences --work work/gen2cmp \
        [--split test] [--qp 32] [--frames 100] [--generators ifvc-geometric-3 ifvc-flow-4] \
        [--candidate LABEL=WEIGHTS ...] [--out docs/results/feature_fidelity_<date>]

Each clip of the split is encoded once at key-frame QP --qp with the reference encoder (one
key frame, defaults otherwise; tools/generator_compare.py's stream cache in --work) and decoded
with each generator; ``--candidate LABEL=WEIGHTS`` adds trained weights of ifvc-flow-4's
network (tools/train_generator.py's best.safetensors) that are not registered.

The regions are those the training's feature loss weighs (tools/train_generator.py,
feature_region): the target frame's eye openings and mouth interior (ifvc-geometric-3's target
geometry, learned.semantic_masks) grown by FEATURE_RADIUS pixels, eyes and mouth apart. The
frames are classed by what the semantics ask for, against the key frame:
- "eyes closing": an eye's lid gap below EYE_FILL_START of the key frame's (the frames where
  geometric-3 draws its lids: mesh_features.py);
- "mouth opening": the inner-lip gap at least MOUTH_OPENING_CM wider than the key frame's;
- "all": every frame but the key frame.
Per class and generator: PSNR-RGB over the eye region ("eyes closing"), the mouth region
("mouth opening") or both ("all"), the squared errors pooled over the frames of all clips,
and the whole-frame PSNR-RGB of the same frames (tools/generator_error_budget.py splits the
whole picture into regions). One strip per clip and class (the frame that asks most: the most
closed eye, the widest mouth beyond the key's) crops the features, source first.

Writes results.md, results.json and strips into --out.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_from_mse
from ifvc_synthesis.generators.mesh_features import EYE_FILL_START     # where geometric-3 starts its lids
from tools.generator_compare import SPLIT_FILE, add_clip_study_arguments, coded_sequences, first_key_frame
from tools.generator_strips import write_strip

MOUTH_OPENING_CM = 0.3        # inner-lip gap beyond the key frame's (Annex B measure, cm)
CLASSES = ("eyes closing", "mouth opening", "all")
DEFAULT_GENERATORS = ("ifvc-geometric-3", "ifvc-flow-4")


def frame_regions(tg, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(eye region, mouth region) of a target geometry: HxW float32 in [0, 1], the masks of the
    learned networks' inputs grown as the training's feature loss grows them."""
    import torch
    from ifvc_synthesis.generators.learned import semantic_masks
    from tools.train_generator import feature_region
    mouth, eyes = semantic_masks(tg, h, w)
    grown = feature_region(torch.from_numpy(np.stack([eyes, mouth]))[:, None])
    return grown[0, 0].numpy(), grown[1, 0].numpy()


def frame_class(tg) -> list[str]:  # type: ignore[no-untyped-def]
    """The classes of a frame (CLASSES) from its target geometry."""
    out = []
    if min(tg.eye_gain) < EYE_FILL_START:
        out.append("eyes closing")
    if tg.mouth_gap_target >= tg.mouth_gap_key + MOUTH_OPENING_CM:
        out.append("mouth opening")
    return out + ["all"]


def make_generators(names: list[str], candidates: list[str]) -> dict[str, object]:
    from ifvc_synthesis.generators import get_generator
    from ifvc_synthesis.generators.learned import FLOW_4, LearnedGenerator
    from tools.train_generator import load_model_file
    gens: dict[str, object] = {g: get_generator(g) for g in names}
    for c in candidates:
        label, _, path = c.partition("=")
        gens[label] = LearnedGenerator(model=load_model_file(Path(path), "flow-occlusion-layered"), network=FLOW_4)
    return gens


class Pool:
    """Squared errors pooled over frames: [weighted sum, weight, frames] per (class, generator,
    measure)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str, str], list[float]] = {}

    def add(self, cls: str, gen: str, measure: str, se: np.ndarray, weight: np.ndarray | None) -> None:
        """One frame's squared errors (HxWx3), weighted per pixel (None: the whole frame)."""
        w = np.ones(se.shape[:2]) if weight is None else weight.astype(np.float64)
        acc = self.sums.setdefault((cls, gen, measure), [0.0, 0.0, 0])
        acc[0] += float((se.mean(axis=2) * w).sum())
        acc[1] += float(w.sum())
        acc[2] += 1

    def psnr(self, cls: str, gen: str, measure: str) -> tuple[float, int]:
        s, w, n = self.sums.get((cls, gen, measure), (0.0, 0.0, 0))
        if w <= 0:
            return float("nan"), 0
        return float(psnr_from_mse(s / w)), int(n)


def study_clip(name: str, source: np.ndarray, data: bytes, gens: dict[str, object], pool: Pool,
               strips: Path | None) -> None:
    from ref_decoder.decoder import Decoder
    from ifvc_synthesis.generators.geometric_3 import MeshGenerator
    decoded: dict[str, np.ndarray] = {}
    values: list[np.ndarray] = []
    for label, gen in gens.items():
        frames = list(Decoder(generator=gen).decode(data))
        decoded[label] = np.stack([f.rgb for f in frames])
        values = [np.asarray(f.values) for f in frames]         # the same for every generator
    n = min(len(source), len(values))
    geo = MeshGenerator()                                     # the target geometry of every frame
    payload, version, _, _ = first_key_frame(data)           # geometry only: no key picture restored
    geo.set_keyframe(next(iter(decoded.values()))[0], values[0], payload, version)
    h, w = source.shape[1:3]
    pick: dict[str, tuple[float, int]] = {}
    regions: dict[int, tuple[np.ndarray, np.ndarray]] = {}     # (eyes, mouth) of the picked frames
    for i in range(1, n):
        tg = geo.target_geometry(values[i])
        eyes, mouth = frame_regions(tg, h, w)
        classes = frame_class(tg)
        for label in gens:
            se = (decoded[label][i].astype(np.float64) - source[i].astype(np.float64)) ** 2
            for cls in classes:
                region = {"eyes closing": eyes, "mouth opening": mouth}.get(cls, np.maximum(eyes, mouth))
                pool.add(cls, label, "region", se, region)
                pool.add(cls, label, "frame", se, None)
        asks = {"eyes closing": min(tg.eye_gain), "mouth opening": tg.mouth_gap_key - tg.mouth_gap_target}
        for cls, ask in asks.items():             # lower asks more
            if cls in classes and (cls not in pick or ask < pick[cls][0]):
                pick[cls] = (ask, i)
                regions[i] = (eyes, mouth)
    if strips is None:
        return
    for cls, (_, i) in pick.items():
        eyes, mouth = regions[i]
        region = mouth if cls == "mouth opening" else eyes
        ys, xs = np.nonzero(region > 0.5)
        cy, cx = int(ys.mean()), int(xs.mean())
        side = 72 if cls == "mouth opening" else 112          # a square around the mouth, or both eyes
        y0, x0 = int(np.clip(cy - side // 2, 0, h - side)), int(np.clip(cx - side // 2, 0, w - side))

        def crop(rgb: np.ndarray) -> np.ndarray:
            return cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (256, 256), interpolation=cv2.INTER_CUBIC)
        panels = [(crop(source[i]), f"source f{i}")]
        for label in gens:
            se = (decoded[label][i].astype(np.float64) - source[i].astype(np.float64)) ** 2
            psnr = float(psnr_from_mse(float((se.mean(axis=2) * region).sum() / region.sum())))
            panels.append((crop(decoded[label][i]), f"{label} {psnr:.1f} dB"))
        write_strip(strips / f"strip_{cls.replace(' ', '_')}_{name}_f{i:03d}.png", panels)


def report(pool: Pool, gens: list[str], command: str) -> str:
    lines = [f"# Eyes and mouth: {', '.join(gens)}\n", f"`{command}`\n",
             "PSNR-RGB over the feature region of each class (the eye region for 'eyes closing', the "
             "mouth region for 'mouth opening', both for 'all'), squared errors pooled over the frames; "
             "the whole frame's PSNR-RGB of the same frames beside it.\n",
             "| frames | generator | frames counted | feature region PSNR (dB) | whole frame PSNR (dB) |",
             "|---|---|---|---|---|"]
    for cls in CLASSES:
        for g in gens:
            p, n = pool.psnr(cls, g, "region")
            f, _ = pool.psnr(cls, g, "frame")
            lines.append(f"| {cls} | {g} | {n} | {p:.2f} | {f:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_clip_study_arguments(ap)
    ap.add_argument("--generators", nargs="+", default=list(DEFAULT_GENERATORS))
    ap.add_argument("--candidate", action="append", default=[], metavar="LABEL=WEIGHTS",
                    help="unregistered weights of ifvc-flow-4's network, decoded under LABEL")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these sequences of the split only")
    ap.add_argument("--no-strips", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("docs/results") / f"feature_fidelity_{datetime.date.today()}")
    args = ap.parse_args(argv)
    from bitstream.generator_registry import GENERATOR_BY_NAME
    for g in args.generators:
        if g not in GENERATOR_BY_NAME:
            ap.error(f"--generators: unknown generator {g!r}")
    labels = list(args.generators)
    for c in args.candidate:
        label, sep, path = c.partition("=")
        if not sep or not label or not Path(path).is_file():
            ap.error(f"--candidate {c!r}: give LABEL=WEIGHTS with an existing weights file")
        if label in labels:
            ap.error(f"--candidate {c!r}: the label {label!r} is already taken; give each output its own")
        labels.append(label)
    try:
        gens = make_generators(args.generators, args.candidate)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:   # weights that are no network of flow-4's kind
        print(f"feature_fidelity: error: {exc}", file=sys.stderr)
        return 1
    names = [n for n in json.loads(SPLIT_FILE.read_text())[args.split] if not args.only or n in args.only]
    args.work.mkdir(parents=True, exist_ok=True)
    command = "python -m tools.feature_fidelity " + " ".join(argv or sys.argv[1:])
    pool = Pool()
    for name, seq, stream in coded_sequences(names, args.sequences, args.work, args.qp, args.frames):
        study_clip(name, read_rgb444(seq, max_frames=args.frames), stream.read_bytes(), gens, pool,
                   None if args.no_strips else args.out)
        print(f"{name}: done", flush=True)
    if not pool.sums:
        print(f"feature_fidelity: error: no clip of the {args.split} split was found in {args.sequences}",
              file=sys.stderr)
        return 1
    text = report(pool, list(gens), command)
    args.out.mkdir(parents=True, exist_ok=True)            # the strips' folder, when there are strips
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(
        {"command": command, "qp": args.qp, "rows": [
            {"frames": c, "generator": g, "n": pool.psnr(c, g, "region")[1],
             "region_psnr": pool.psnr(c, g, "region")[0], "frame_psnr": pool.psnr(c, g, "frame")[0]}
            for c in CLASSES for g in gens]}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
