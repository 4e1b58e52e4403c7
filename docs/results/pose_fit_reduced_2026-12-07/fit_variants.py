"""Variants of the pose fit's descent (ref_encoder/pose_fit.py), each scored on full-size pictures.

    python docs/results/pose_fit_reduced_2026-12-07/fit_variants.py work/sequences/CLIP_256x256_25_8bit_444.rgb \
        [--qp 32] [--out CLIP.json]

Encodes the clip as the pose-fit encoder does (--generator ifvc-geometric-7 --pose-fit --refresh auto
--correction-grid auto, 100 frames, 1 thread): the stream is the tree's own. At every frame the
encoder fits, each variant below runs its own descent from the same analysed values against the
same reference store, and the pose it returns is drawn at full size by ifvc-geometric-7. Printed
per variant: the mean gain in PSNR-RGB of that full-size picture over the analysed pose's, the
pictures the variant drew per fitted frame, and its time per fitted frame (one thread, this
machine, all variants in one process).

Variants: "s256" the descent on full pictures (the fit before 2026-12-07); "s128", "s96", "s64" on
pictures reduced to that side (pose_fit.reduced_reference); "s128 -tz", "s128 -roll", "s128 4"
without head_tz, without head_roll, with only head_tx, head_ty, head_yaw and head_pitch;
"s64 memory" tries first the direction in which the element last moved; "s64 1 step" at most one
level from the start.

Cheaper descents (--variants, the second session of 2026-12-07; all on 128 x 128 pictures unless
named s64): "start" the start alone (the analysed pose or a reference's, no descent); "xy" the
descent over head_tx and head_ty only; "xyz" over head_tx, head_ty and head_tz; "xy 1 step" and
"s128 1 step" at most one level from the start; "s64 xy" head_tx and head_ty on 64 x 64 pictures;
"head128", "head96", "head64" the full descent on a cheaper proxy picture, the head mesh layer alone
(Annex H.4's colour and opacity, render_mesh) over the unmoved key picture, at that size.

    python docs/results/pose_fit_reduced_2026-12-07/fit_variants.py work/sequences/CLIP_256x256_25_8bit_444.rgb \
        --variants s128 start xy xyz "xy 1 step" "s128 1 step" "s64 xy" --out CLIP.json
    python docs/results/pose_fit_reduced_2026-12-07/fit_variants.py work/sequences/CLIP_256x256_25_8bit_444.rgb \
        --variants s128 s64 head128 head96 head64 --out CLIP.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import ref_encoder.pose_fit as pf
from ifvc_synthesis.generators import get_generator, use_references
from ref_encoder.cli import main as encode

ALL = ("head_tx", "head_ty", "head_tz", "head_yaw", "head_pitch", "head_roll")
VARIANTS = {"s256": (256, ALL, ""), "s128": (128, ALL, ""), "s96": (96, ALL, ""), "s64": (64, ALL, ""),
            "s128 -tz": (128, tuple(n for n in ALL if n != "head_tz"), ""),
            "s128 -roll": (128, tuple(n for n in ALL if n != "head_roll"), ""),
            "s128 4": (128, ("head_tx", "head_ty", "head_yaw", "head_pitch"), ""),
            "s64 memory": (64, ALL, "memory"), "s64 1 step": (64, ALL, "steps1"),
            "start": (128, (), ""), "xy": (128, ("head_tx", "head_ty"), ""),
            "xyz": (128, ("head_tx", "head_ty", "head_tz"), ""),
            "xy 1 step": (128, ("head_tx", "head_ty"), "steps1"), "s128 1 step": (128, ALL, "steps1"),
            "s64 xy": (64, ("head_tx", "head_ty"), ""),
            "head128": (128, ALL, "head"), "head96": (96, ALL, "head"), "head64": (64, ALL, "head")}
FIRST_SESSION = ("s256", "s128", "s96", "s64", "s128 -tz", "s128 -roll", "s128 4", "s64 memory", "s64 1 step")
SIZES = sorted({v[0] for v in VARIANTS.values()} | {256})   # 256: the scoring generator
GENERATOR = "ifvc-geometric-7"


class Variants:
    """Generators at each size over the encoder's references (full size: the decoder's own)."""

    def __init__(self) -> None:
        self.gens = {size: get_generator(GENERATOR) for size in SIZES}
        self.refs: list = []
        self.memory: dict[str, dict[int, int]] = {}
        self.log: list[dict[str, tuple[float, int, float]]] = []

    def add(self, reference, store) -> None:  # type: ignore[no-untyped-def]
        kept = {idx for idx, _ in store}
        self.refs = [r for r in self.refs if r.frame_idx in kept] + [reference]
        for size, gen in self.gens.items():
            use_references(gen, [pf.reduced_reference(r, (size, size)) for r in self.refs])

    def descent(self, fitter: pf.PoseFit, values: np.ndarray, source: np.ndarray, name: str) -> tuple[np.ndarray, int]:
        size, names, mode = VARIANTS[name]
        gen = self.gens[size]
        src = pf.reduced(source, (size, size)).astype(np.float64)
        ids = {pf.ELEMENT_BY_NAME[n].element_id for n in names}
        steps = {i: s for i, s in fitter.steps.items() if i in ids}
        drawn = [0]

        key = gen.key_rgb.astype(np.float32)

        def picture(v: np.ndarray) -> np.ndarray:
            if mode != "head":
                return gen.synthesize(v)
            # the head mesh layer alone over the unmoved key picture: no person layer, no mouth or eyes
            colour, opacity = gen.render_mesh(v)
            return np.clip(np.floor(key + opacity[..., None] * (colour - key) + 0.5), 0, 255)

        def err(v: np.ndarray) -> float:
            drawn[0] += 1
            d = (picture(v).astype(np.float64) - src).ravel()
            return float(np.einsum("i,i->", d, d))

        analysed = np.asarray(values, np.float64)
        origin, best_err = analysed, err(analysed)
        for _, ref in fitter.references:       # the start, as PoseFit._start
            if any(abs(ref.values[i] - analysed[i]) > pf.REFERENCE_START_LEVELS * s for i, s in fitter.steps.items()):
                continue
            c = analysed.copy()
            for i in fitter.steps:
                c[i] = ref.values[i]
            if not np.array_equal(c, analysed):
                e = err(c)
                if e < best_err:
                    origin, best_err = c, e
        best = origin.copy()
        memory = self.memory.setdefault(name, {})
        for i, step in steps.items():
            directions = (-1, 1) if mode == "memory" and memory.get(i, 1) < 0 else (1, -1)
            for direction in directions:
                moved = False
                for k in range(1, (1 if mode == "steps1" else pf.MAX_STEPS) + 1):
                    t = best.copy()
                    t[i] = origin[i] + direction * k * step
                    e = err(t)
                    if e >= best_err:
                        break
                    best, best_err, moved = t, e, True
                if moved:
                    memory[i] = direction
                    break
        return best, drawn[0]

    def score(self, fitter: pf.PoseFit, values: np.ndarray, source: np.ndarray, names: list[str]) -> None:
        full = self.gens[256]
        src = source.astype(np.float64)

        def full_err(v: np.ndarray) -> float:
            d = (full.synthesize(v).astype(np.float64) - src).ravel()
            return float(np.einsum("i,i->", d, d))

        analysed_err = full_err(np.asarray(values, np.float64))
        rec = {}
        for name in names:
            t0 = time.perf_counter()
            best, drawn = self.descent(fitter, values, source, name)
            seconds = time.perf_counter() - t0
            rec[name] = (10 * float(np.log10(analysed_err / max(full_err(best), 1.0))), drawn, seconds)
        self.log.append(rec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sequence", type=Path)
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(FIRST_SESSION),
                    help="the variants to run (default: those of the first session)")
    a = ap.parse_args()
    study = Variants()
    fit, add = pf.PoseFit.fit, pf.PoseFit.add_keyframe

    def fit_and_score(self, values, source):  # type: ignore[no-untyped-def]
        study.score(self, values, source, a.variants)
        return fit(self, values, source)

    def add_both(self, reference):  # type: ignore[no-untyped-def]
        add(self, reference)
        study.add(reference, self.references)

    pf.PoseFit.fit, pf.PoseFit.add_keyframe = fit_and_score, add_both
    with tempfile.TemporaryDirectory() as tmp:
        encode([str(a.sequence), "--width", "256", "--height", "256", "--fps", "25", "--qp", str(a.qp),
                "--frames", "100", "--generator", GENERATOR, "--pose-fit", "--refresh", "auto",
                "--correction-grid", "auto", "--threads", "1", "-o", str(Path(tmp) / "s.ifvc"), "--quiet"])
    summary = {name: {"gain_db": float(np.mean([r[name][0] for r in study.log])),
                      "pictures": float(np.mean([r[name][1] for r in study.log])),
                      "ms": 1000 * float(np.mean([r[name][2] for r in study.log]))} for name in a.variants}
    print(f"{a.sequence.name}: {len(study.log)} fitted frames")
    for name, s in summary.items():
        print(f"  {name:11s} {s['gain_db']:5.2f} dB  {s['pictures']:4.1f} pictures  {s['ms']:4.0f} ms")
    if a.out:
        a.out.write_text(json.dumps({"sequence": a.sequence.name, "qp": a.qp, "fitted": len(study.log),
                                     "variants": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
