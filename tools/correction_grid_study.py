"""Coded motion-correction grid study (issue 14): what would a small coded displacement field,
applied by the decoder to the generator's picture, buy, and at what rate?

    python -m tools.correction_grid_study --campaign work/camp_teeth_train --codec g7 \
        --variants g2q1 g4q1 g4q1p3 g8q1 --out docs/results/<dir>/train

Where the decoded pictures lose (docs/results/correction_grid_2026-12-06): the generator draws
the person a pixel or a few away from where the source has it (the hair's outline, the jaw, the
shoulders), which no semantic element describes. The encoder has the source and, through the
decoder mirror, the decoder's picture, so it could send the correction itself. This study
measures that tool's ceiling on decoded campaign cells, before any syntax exists:

1. for each coded (non-key) frame t, the dense optical flow F from the source picture to the
   decoded picture (OpenCV DIS, medium preset, on grey), so that source(x) ~ decoded(x + F(x));
2. F pooled to a G x G grid of cell means (INTER_AREA) and quantised to steps of Q pixels:
   the integer levels L_t (G x G x 2) the encoder would code;
3. hold (variant suffix h): per frame, the encoder keeps the previous frame's levels unless
   the new ones lower the squared error by more than lambda times their extra Exp-Golomb bits,
   lambda = VTM's intra lambda at the cell's key-frame QP (0.57 * 2^((QP - 12) / 3));
   deadzone (suffix d): each grid value keeps its previous level unless the pooled flow lies
   more than one step from it, so that flow noise below a step codes nothing;
   with period P > 1 the levels are coded on anchor frames only (every P-th frame of the
   coded run and its last frame, key frames excluded) and the frames between take the
   rounded linear interpolation of the two anchors' levels;
4. the decoder's field: L_t * Q upsampled bilinearly with the control points at the cell
   centres (cv2.resize INTER_LINEAR), and the decoded picture resampled at x + field(x)
   (bilinear, edge replicated);
5. metrics of the corrected pictures as the campaign scores them (PSNR-RGB and LPIPS-Alex on
   every frame, LPIPS-VGG and DISTS on the campaign's strided frames: every --vgg-stride-th
   from the middle of the first stride), and the rate: the cell's
   kbit/s plus the levels' bits, estimated two ways from the temporal residuals
   R_t = L_t - L_(previous coded frame) (0 before the first):
   - eg: signed Exp-Golomb se(v) of every residual (an upper bound on a real syntax);
   - adaptive: an adaptive binary model per grid value (zero flag, sign, then Exp-Golomb
     bins of |R| - 1, each bin's probability counted as CABAC's context would learn it,
     Krichevsky-Trofimov estimate), the kind of rate CABAC reaches on such residuals.

Rows are written in the campaign's results.csv format (codec = the variant's name, rate from
the adaptive estimate; the EG estimate in kbps_eg), so docs/results/refresh_qp_2026-12-03/
bd_study.py gives BD-rates against the anchor rows. Resumable: each cell's rows are kept in
OUT/cells/ (per variant) and not recomputed.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from bitstream.raw_video import read_rgb444
from conformance.campaign.cells import strided_indices
from conformance.metrics.aggregate import frame_scores_many
from ref_encoder.correction_grid import se_bits, source_flow, vvc_lambda

VARIANT = re.compile(r"^g(\d+)q(\d+(?:\.\d+)?)(?:p(\d+))?([hd]?)$")


@dataclass(frozen=True)
class Variant:
    """A correction grid of grid x grid cells, levels in steps of step pixels, coded on every
    period-th frame; hold: the encoder keeps the previous levels unless the new ones repay
    their bits (hold_levels); deadzone: each value keeps its previous level unless the flow
    moves more than one step from it (deadzone_levels)."""
    name: str
    grid: int
    step: float
    period: int = 1
    hold: bool = False
    deadzone: bool = False

    @classmethod
    def parse(cls, text: str) -> "Variant":
        m = VARIANT.match(text)
        if not m:
            raise ValueError(f"variant {text!r}: expected gGqQ[pP][h|d], e.g. g4q1, g4q1p3, g4q1h or g4q1d")
        if m.group(3) and m.group(4):
            raise ValueError(f"variant {text!r}: hold (h) and deadzone (d) are for period 1 only")
        return cls(text, int(m.group(1)), float(m.group(2)), int(m.group(3) or 1), m.group(4) == "h", m.group(4) == "d")


# Step 1 is the encoder's measurement (ref_encoder/correction_grid.py, where the tool now is).
dense_flow = source_flow


def pooled_steps(dense: np.ndarray, grid: int, step: float) -> np.ndarray:
    """Step 2: the flow's G x G x 2 cell means in steps (before rounding)."""
    return cv2.resize(dense, (grid, grid), interpolation=cv2.INTER_AREA) / step


def correction_levels(dense: np.ndarray, grid: int, step: float) -> np.ndarray:
    """Step 2: the G x G x 2 integer levels of one frame."""
    return np.round(pooled_steps(dense, grid, step)).astype(np.int64)


def deadzone_levels(steps: dict[int, np.ndarray], coded: list[int]) -> dict[int, np.ndarray]:
    """Step 3, deadzone: each value keeps the previous frame's level (zero before the first)
    unless the pooled flow lies more than one step from it; then it takes the rounded flow."""
    out: dict[int, np.ndarray] = {}
    previous = None
    for t in coded:
        x = steps[t]
        previous = np.zeros(x.shape, np.int64) if previous is None else previous
        previous = np.where(np.abs(x - previous) > 1.0, np.round(x).astype(np.int64), previous)
        out[t] = previous
    return out


def coded_runs(coded: list[int]) -> list[list[int]]:
    """The runs of consecutive coded frames (a key frame ends a run)."""
    runs: list[list[int]] = []
    for frame in coded:
        if runs and runs[-1][-1] == frame - 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return runs


def anchor_frames(coded: list[int], period: int) -> set[int]:
    """Step 3: within each run of consecutive coded frames, every period-th and the last."""
    return {f for run in coded_runs(coded) for k, f in enumerate(run) if (k + 1) % period == 0 or k + 1 == len(run)}


def interpolated(levels: dict[int, np.ndarray], coded: list[int], anchors: set[int]) -> dict[int, np.ndarray]:
    """Step 3: levels of every coded frame; a frame between anchors takes the rounded linear
    interpolation from the run's previous anchor (before the first one: zero levels at the
    key frame that starts the run) to the next anchor."""
    out: dict[int, np.ndarray] = {}
    for run in coded_runs(coded):
        start_frame, start = run[0] - 1, np.zeros_like(levels[run[0]])
        pending: list[int] = []
        for frame in run:
            if frame not in anchors:
                pending.append(frame)
                continue
            for p in pending:
                w = (p - start_frame) / (frame - start_frame)
                out[p] = np.round(start + w * (levels[frame] - start)).astype(np.int64)
            out[frame], start_frame, start, pending = levels[frame], frame, levels[frame], []
    return out


def field(levels: np.ndarray, step: float, width: int, height: int) -> np.ndarray:
    """Step 4: the dense displacement field of one frame's levels."""
    return cv2.resize((levels * step).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def apply_field(picture: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """Step 4: the picture resampled at x + displacement(x)."""
    h, w = picture.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(picture, gx + displacement[..., 0], gy + displacement[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def hold_levels(levels: dict[int, np.ndarray], coded: list[int], source: np.ndarray, decoded: np.ndarray,
                step: float, lam: float) -> dict[int, np.ndarray]:
    """An RD choice per coded frame between the previous frame's levels (residuals 0) and the
    new ones: the new levels when their squared-error gain exceeds lam times their extra
    Exp-Golomb bits."""
    if not coded:
        return {}
    h, w = decoded.shape[1:3]
    previous = np.zeros_like(levels[coded[0]])
    out: dict[int, np.ndarray] = {}
    for t in coded:
        new = levels[t]
        target = source[t].astype(np.float64)
        sse = [float(((apply_field(decoded[t], field(x, step, w, h)) - target) ** 2).sum()) for x in (previous, new)]
        extra_bits = sum(se_bits(v) for v in (new - previous).ravel().tolist()) - new.size
        if sse[0] - sse[1] > lam * extra_bits:
            previous = new
        out[t] = previous
    return out


class AdaptiveBits:
    """Step 5, adaptive: per grid value and bin, a KT estimate of the bin's probability."""

    def __init__(self) -> None:
        self.counts: dict[tuple, list[float]] = {}
        self.bits = 0.0

    def _bin(self, context: tuple, bit: int) -> None:
        c = self.counts.setdefault(context, [0.5, 0.5])
        self.bits -= math.log2(c[bit] / (c[0] + c[1]))
        c[bit] += 1

    def code(self, position: int, value: int) -> None:
        self._bin((position, "zero"), int(value == 0))
        if value == 0:
            return
        self._bin((position, "sign"), int(value < 0))
        magnitude = abs(value) - 1                 # Exp-Golomb k=0 of |v| - 1: prefix bins adaptive
        prefix = int(math.floor(math.log2(magnitude + 1)))
        for k in range(prefix):
            self._bin((position, "prefix", min(k, 3)), 1)
        self._bin((position, "prefix", min(prefix, 3)), 0)
        self.bits += prefix                        # suffix bits: bypass


def residual_bits(levels: dict[int, np.ndarray], anchors: set[int]) -> tuple[int, float]:
    """Step 5: (Exp-Golomb bits, adaptive bits) of the anchors' temporal residuals."""
    eg, model = 0, AdaptiveBits()
    previous = None
    for frame in sorted(anchors):
        current = levels[frame].ravel()
        residual = current if previous is None else current - previous
        for position, value in enumerate(residual.tolist()):
            eg += se_bits(value)
            model.code(position, value)
        previous = current
    return eg, model.bits


def key_frames(log_csv: Path) -> set[int]:
    log = pd.read_csv(log_csv)
    return set(log.loc[log.kind == "key", "frame_idx"].astype(int))


def study_cell(source: np.ndarray, decoded: np.ndarray, keys: set[int], variants: list[Variant],
               vgg_stride: int, fps: float, qp: int) -> list[dict]:
    """Rows (metrics and the extra kbit/s) of the uncorrected cell and of each variant."""
    n, h, w = decoded.shape[:3]
    coded = [t for t in range(n) if t not in keys]
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dense = {t: dense_flow(source[t], decoded[t], flow) for t in coded}
    versions, extras = [decoded], [(0, 0.0)]
    for v in variants:
        if v.deadzone:
            levels = deadzone_levels({t: pooled_steps(dense[t], v.grid, v.step) for t in coded}, coded)
        else:
            levels = {t: correction_levels(dense[t], v.grid, v.step) for t in coded}
        anchors = anchor_frames(coded, v.period)
        if v.hold:
            levels = hold_levels(levels, coded, source, decoded, v.step, vvc_lambda(qp))
        used = interpolated(levels, coded, anchors) if v.period > 1 else levels
        corrected = decoded.copy()
        for t in coded:
            corrected[t] = apply_field(decoded[t], field(used[t], v.step, w, h))
        versions.append(corrected)
        extras.append(residual_bits(levels, anchors))
    full = frame_scores_many(source, versions, ["psnr_rgb", "lpips_alex"])
    picked = strided_indices(n, vgg_stride)          # the campaign's frames for the slow metrics
    strided = frame_scores_many(source[picked], [x[picked] for x in versions], ["lpips_vgg", "dists"])
    rows = []
    for name, a, b, (eg, adaptive) in zip(["none"] + [v.name for v in variants], full, strided, extras):
        rows.append(dict(variant=name, psnr_rgb=float(np.mean(a["psnr_rgb"])), lpips_alex=float(np.mean(a["lpips_alex"])),
                         lpips_vgg=float(np.mean(b["lpips_vgg"])), dists=float(np.mean(b["dists"])),
                         extra_kbps_eg=eg * fps / n / 1000.0, extra_kbps=adaptive * fps / n / 1000.0))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", type=Path, required=True, help="a campaign folder whose cells kept the decoded .rgb")
    ap.add_argument("--codec", required=True, help="the campaign codec whose cells to correct")
    ap.add_argument("--sequences-dir", type=Path, default=Path("work/sequences"))
    ap.add_argument("--variants", nargs="+", required=True, help="gGqQ[pP]: grid G x G, step Q pixels, period P")
    ap.add_argument("--sequences", nargs="+", help="only these sequences (e.g. to split the work over processes)")
    ap.add_argument("--points", nargs="+", type=int, help="only these key-frame QPs")
    ap.add_argument("--vgg-stride", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        variants = [Variant.parse(v) for v in args.variants]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not (args.campaign / "results.csv").is_file():
        print(f"error: {args.campaign / 'results.csv'} is not a file (a campaign folder holds one)", file=sys.stderr)
        return 2
    results = pd.read_csv(args.campaign / "results.csv")
    cells = results[results.codec == args.codec]
    if args.sequences:
        cells = cells[cells.sequence.isin(args.sequences)]
    if args.points:
        cells = cells[cells.point.isin(args.points)]
    if cells.empty:
        print(f"error: no rows of codec {args.codec!r} in {args.campaign / 'results.csv'}", file=sys.stderr)
        return 2
    (args.out / "cells").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, cell in enumerate(cells.itertuples(index=False), start=1):
        name, qp = cell.sequence, int(cell.point)
        done = args.out / "cells" / f"{name}_qp{qp}.json"
        cached = {r["variant"]: r for r in json.loads(done.read_text())["rows"]} if done.is_file() else {}
        missing = [v for v in variants if v.name not in cached]
        if missing or "none" not in cached:
            t0 = time.perf_counter()
            folder = args.campaign / "cells" / args.codec / name
            stem = f"{name}_{args.codec}_qp{qp}"
            needed = [args.sequences_dir / f"{name}_256x256_25_8bit_444.rgb", folder / f"{stem}.rgb",
                      folder / f"{stem}.encoder_log.csv"]
            absent = [str(p) for p in needed if not p.is_file()]
            if absent:
                print(f"error: {', '.join(absent)} missing (the campaign must keep its decoded pictures)", file=sys.stderr)
                return 2
            n = int(cell.frames)
            try:
                source = read_rgb444(needed[0], max_frames=n)
                decoded = read_rgb444(needed[1], max_frames=n)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            keys = key_frames(folder / f"{stem}.encoder_log.csv")
            cached.update({r["variant"]: r for r in study_cell(source, decoded, keys, missing, args.vgg_stride, 25.0, qp)})
            done.write_text(json.dumps({"rows": list(cached.values())}, indent=1) + "\n")
            print(f"[{i}/{len(cells)}] {name} QP {qp}: {time.perf_counter() - t0:.0f} s", flush=True)
        cell_rows = [cached["none"]] + [cached[v.name] for v in variants]
        base = cell._asdict()
        for r in cell_rows:
            row = dict(base)
            row.update(codec=r["variant"], kbps=cell.kbps + r["extra_kbps"], kbps_eg=cell.kbps + r["extra_kbps_eg"],
                       extra_kbps=r["extra_kbps"], psnr_rgb=r["psnr_rgb"], lpips_alex=r["lpips_alex"],
                       lpips_vgg=r["lpips_vgg"], dists=r["dists"])
            rows.append(row)
    pd.DataFrame(rows).to_csv(args.out / "results.csv", index=False)
    print(f"wrote {args.out / 'results.csv'} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
