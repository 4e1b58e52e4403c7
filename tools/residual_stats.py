"""Statistics of the semantic elements on the train split, to choose precisions.

    python -m tools.residual_stats [--split train] [--out work/residual_stats.json]

Per element: dynamic range; entropy (bits per frame) and std of the frame-to-frame residual
of the quantized level round(v * 2**p) at the default precision p and at p-1 and p+1;
jitter on still segments without and with the default causal smoothing, what smoothing
costs (RMS change and lag); and a recommended precision: the coarsest p whose quantization
error std (2**-p / sqrt(12)) is at most the analysis noise (still-segment jitter / sqrt(2)),
since a finer step only codes analysis noise. Also the fraction of frames with no face for
every prepared clip.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bitstream.semantic_elements import FACE_ELEMENTS as SEMANTIC_ELEMENTS   # the face's 14 (landmark analysis)
from ifvc_common.outputs import OutputTransaction
from tools.semantics_cache import load_split, raw_semantics, sequence_path


def entropy_bits(x: np.ndarray) -> float:
    _, counts = np.unique(x, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def quantize(v: np.ndarray, p: int, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.floor(v * 2.0 ** p + 0.5), lo << p, hi << p).astype(np.int64)


def recommended_precision(noise: float, max_p: int) -> int:
    if not np.isfinite(noise) or noise <= 0:
        return max_p
    return int(np.clip(np.ceil(np.log2(1.0 / (np.sqrt(12.0) * noise))), 0, max_p))


def main(argv: list[str] | None = None) -> int:
    from ref_encoder.analysis import apply_smoothing
    from ref_encoder.analysis.stability import lag_frames, still_diffs, still_mask, robust_std

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="train", choices=["train", "validation", "test"])
    ap.add_argument("--out", type=Path, default=Path("work") / "residual_stats.json")
    args = ap.parse_args(argv)
    split = load_split()
    names = split[args.split]
    missing = [n for n in names if not sequence_path(n).is_file()]
    if missing:
        print(f"error: sequences missing ({', '.join(missing)}): run python -m tools.prepare_sequences "
              "--raw ../shared/data/faces/raw --out work/sequences", file=sys.stderr)
        return 2
    raw = {}
    no_face = {}
    for n in sorted(sum(split.values(), [])):
        if not sequence_path(n).is_file():
            continue
        v, rep = raw_semantics(n)
        no_face[n] = {"frames": rep["frames"], "no_face_frames": rep["no_face_frames"],
                      "fraction": rep["no_face_frames"] / rep["frames"], "multi_face_frames": rep["multi_face_frames"]}
        if n in names:
            raw[n] = v
        print(f"analysed {n}: {rep['frames']} frames, {rep['no_face_frames']} without a face", file=sys.stderr)
    smooth = {n: apply_smoothing(v, "one_euro") for n, v in raw.items()}
    masks = {n: still_mask(v) for n, v in raw.items()}
    d_raw = np.concatenate([still_diffs(raw[n], masks[n]) for n in names])
    d_smo = np.concatenate([still_diffs(smooth[n], masks[n]) for n in names])
    still_frames = int(sum(m.sum() for m in masks.values()))
    total = int(sum(len(v) for v in raw.values()))
    allv = np.concatenate(list(raw.values()))
    elements = []
    for e, el in enumerate(SEMANTIC_ELEMENTS):
        j_raw, j_smo = robust_std(d_raw[:, e]), robust_std(d_smo[:, e])
        per_p = {}
        for p in sorted({max(0, el.default_precision - 1), el.default_precision, el.default_precision + 1}):
            res = np.concatenate([np.diff(quantize(raw[n][:, e], p, el.min_value, el.max_value)) for n in names])
            res_s = np.concatenate([np.diff(quantize(smooth[n][:, e], p, el.min_value, el.max_value)) for n in names])
            per_p[str(p)] = {"step": 2.0 ** -p, "quant_error_std": 2.0 ** -p / np.sqrt(12),
                             "residual_entropy_bits": entropy_bits(res), "residual_std": float(res.std()),
                             "residual_entropy_bits_smoothed": entropy_bits(res_s),
                             "residual_std_smoothed": float(res_s.std())}
        lags = [lag_frames(raw[n][:, e], smooth[n][:, e]) for n in names]
        rms_change = float(np.sqrt(np.mean(np.concatenate([(smooth[n][:, e] - raw[n][:, e]) ** 2 for n in names]))))
        elements.append({
            "name": el.name, "unit": el.unit, "default_precision": el.default_precision,
            "min": float(allv[:, e].min()), "max": float(allv[:, e].max()),
            "p01": float(np.percentile(allv[:, e], 1)), "p99": float(np.percentile(allv[:, e], 99)),
            "std": float(allv[:, e].std()),
            "jitter_still_raw": j_raw, "jitter_still_smoothed": j_smo,
            "smoothing_rms_change": rms_change, "smoothing_lag_frames_median": float(np.median(lags)),
            "recommended_precision_raw": recommended_precision(j_raw / np.sqrt(2), el.max_precision),
            "recommended_precision_smoothed": recommended_precision(j_smo / np.sqrt(2), el.max_precision),
            "precisions": per_p})
    doc = {"split": args.split, "sequences": names, "frames": total, "still_frames": still_frames,
           "smoothing": "one_euro (DEFAULT_ONE_EURO)", "elements": elements, "no_face": no_face}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        outputs.write_text(args.out, json.dumps(doc, indent=1) + "\n")
    print(f"{args.split}: {len(names)} sequences, {total} frames, {still_frames} in still segments")
    print(f"{'element':16s} {'p1':>8s} {'p99':>8s} {'jit_raw':>8s} {'jit_smo':>8s} {'lag':>4s} "
          f"{'rec_p':>5s} {'rec_ps':>6s}  H(bits)/std of residual at p-1, p, p+1")
    for el in elements:
        cells = "  ".join(f"p{p}: {d['residual_entropy_bits']:.2f}/{d['residual_std']:.2f}"
                          for p, d in el["precisions"].items())
        print(f"{el['name']:16s} {el['p01']:8.3f} {el['p99']:8.3f} {el['jitter_still_raw']:8.4f} "
              f"{el['jitter_still_smoothed']:8.4f} {el['smoothing_lag_frames_median']:4.1f} "
              f"{el['recommended_precision_raw']:5d} {el['recommended_precision_smoothed']:6d}  {cells}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
