"""How much of the pose fit's gain the previous fits' offsets carry, with no descent at all.

    python docs/results/pose_fit_reduced_2026-12-07/offset_carry.py work/sequences/CLIP_256x256_25_8bit_444.rgb

Encodes the clip as the pose-fit encoder does (--generator ifvc-geometric-7 --pose-fit --refresh auto
--correction-grid auto, QP 32, 100 frames, 1 thread). At every fitted frame after the first since
the newest key frame, the analysed pose plus an offset (fitted minus analysed, per head element) is
drawn at full size by ifvc-geometric-7 and scored like fit_variants.py (PSNR-RGB gain over the
analysed pose): "prev" the previous fitted frame's offset, "mean3" the mean of the last three since
the key frame, "mean" the mean of all since the key frame; "fit" is the descent's own pose. Also printed: the mean offset of each fitted element
over all fitted frames of the clip, in levels of its precision.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import ref_encoder.pose_fit as pf
from ifvc_synthesis.generators import get_generator, use_references
from ref_encoder.cli import main as encode

CARRIED = {"prev": lambda h: h[-1], "mean3": lambda h: np.mean(h[-3:], axis=0), "mean": lambda h: np.mean(h, axis=0)}


def main() -> int:
    seq = sys.argv[1]
    full = get_generator("ifvc-geometric-7")
    refs: list = []
    since_key: list[np.ndarray] = []
    every: list[np.ndarray] = []                  # each fitted frame's offset in levels
    names: list[str] = []
    log: list[dict[str, float]] = []
    fit, add = pf.PoseFit.fit, pf.PoseFit.add_keyframe

    def err(values: np.ndarray, src: np.ndarray) -> float:
        d = (full.synthesize(values).astype(np.float64) - src).ravel()
        return float(np.einsum("i,i->", d, d))

    def fit_and_score(self, values, source):  # type: ignore[no-untyped-def]
        best = fit(self, values, source)
        analysed, src, ids = np.asarray(values, np.float64), source.astype(np.float64), list(self.steps)
        e0 = err(analysed, src)
        if since_key:
            rec = {"fit": 10 * np.log10(e0 / max(err(best, src), 1.0))}
            for name, carry in CARRIED.items():
                v = analysed.copy()
                v[ids] += carry(since_key)
                rec[name] = 10 * np.log10(e0 / max(err(v, src), 1.0))
            log.append(rec)
        since_key.append((best - analysed)[ids])
        every.append(since_key[-1] / np.array([self.steps[i] for i in ids]))
        if not names:
            names.extend(n for n, i in zip(pf.FIT_ELEMENT_NAMES, pf.FIT_ELEMENT_IDS) if i in self.steps)
        return best

    def add_both(self, reference):  # type: ignore[no-untyped-def]
        add(self, reference)
        kept = {idx for idx, _ in self.references}
        refs[:] = [r for r in refs if r.frame_idx in kept] + [reference]
        use_references(full, refs)
        since_key.clear()

    pf.PoseFit.fit, pf.PoseFit.add_keyframe = fit_and_score, add_both
    with tempfile.TemporaryDirectory() as tmp:
        encode([seq, "--width", "256", "--height", "256", "--fps", "25", "--qp", "32", "--frames", "100",
                "--generator", "ifvc-geometric-7", "--pose-fit", "--refresh", "auto", "--correction-grid", "auto",
                "--threads", "1", "-o", str(Path(tmp) / "s.ifvc"), "--quiet"])
    print(f"{Path(seq).name}: {len(log)} frames scored, mean gain "
          + ", ".join(f"{k} {np.mean([r[k] for r in log]):.2f} dB" for k in ("fit", *CARRIED))
          + "; mean offset in levels " + ", ".join(f"{n} {m:+.2f}" for n, m in zip(names, np.mean(every, axis=0))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
