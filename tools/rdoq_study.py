"""Rate-distortion optimised quantisation of the semantics (ref_encoder/semantic_rdoq.py):
bits before (rounding, --semantic-lambda off) and after (RDOQ, --semantic-lambda auto), and
the decoded video's quality before and after, on the test split; Markdown tables under
docs/results/rdoq_<date>/.

    python -m tools.rdoq_study rate    [--qps 22 32 42 52] [--fpu 1 8 16]
    python -m tools.rdoq_study quality [--qps 22 32 42 52] [--frames N] [--strips-qp 42]

rate: from the analysed semantics of the prepared sequences (tools/semantics_cache.py), smoothed
as the encoder does (causal One-Euro filter); frame 0 is the key frame (its rounded levels are
the reference), the other frames are coded by the stream writer with the encoder's closed-loop
chooser (ClosedLoopChooser) in Exp-Golomb and CABAC, at each frames-per-unit. Bits: the
semantic units' bytes (framing included) per semantic frame; per element: the ideal bits of its
syntax elements (CABAC: -log2 of the context probabilities, the estimate RDOQ uses). Also the
largest error |level - v * 2**p| in levels, the share of skipped frames and J = D + lambda R.

quality: the reference encoder (VVC key frame at each QP, CABAC, 8 frames per unit) with
lambda off and auto, decoded by the reference decoder (geometric generator), against the source:
LPIPS-Alex on every frame, LPIPS-VGG and DISTS on every 10th frame (at --slow-metrics-qps). Strips (source, before,
after) of the frames where RDOQ moved the levels most (weighted by the visual weights), for
the eyes, the mouth and the head, at --strips-qp.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_ID
from bitstream.semantic_temporal import frame_group_list, interpolate_unit, sem_periods, unit_residuals
from bitstream.semantic_groups import NUM_SEM_GROUPS
from bitstream.semantic_unit_compact import group_layout
from bitstream.stream import StreamWriter
from bitstream.structures import SequenceHeader
from bitstream.units import UnitType
from conformance.synthetic_semantics import baseline_header, demo_keyframe
from ifvc_common.outputs import OutputTransaction
from ref_encoder.rate_estimation import SemanticRateModel
from ref_encoder.semantic_rdoq import (ClosedLoopChooser, SemanticQuantiser, choose_unit_levels,
                                       default_max_level_error, lambda_for_qp)
from ref_encoder.semantic_visual_weights import VISUAL_WEIGHTS
from tools.study_output import write_study
from tools.semantics_cache import load_split, raw_semantics, sequence_path

NAMES = [ELEMENT_BY_ID[i].name for i in BASELINE_ELEMENT_IDS]    # the face's elements (baseline_header)
MODES = ((0, "Exp-Golomb"), (1, "CABAC"))
GROUPS = {"eyes": ("eye_blink_left", "eye_blink_right"),
          "mouth": ("mouth_open", "mouth_width", "mouth_shape_1", "mouth_shape_2", "mouth_shape_3"),
          "head": ("head_yaw", "head_pitch", "head_roll", "head_tx", "head_ty", "head_tz")}


def code_clip(values: np.ndarray, mode: int, fpu: int, lam: float | None,
              max_level_error: float | None = None, profile: int = PROFILE_MAIN,
              head_period: int = 1) -> dict[str, object]:
    """Codes one smoothed trajectory (frame 0: key frame) as the encoder codes semantic frames,
    with the semantic-unit syntax of the profile (Compact: syntax 2, spec 1.2 draft 7.3.5a);
    head_period > 1 (Compact only): the head group at that SemPeriod (spec 7.2a, 8.3.4), the
    unit's levels chosen as the encoder does (choose_unit_levels)."""
    sh = baseline_header(mode, len(values))
    sh.sh_profile_idc = profile
    if head_period > 1:
        if profile != PROFILE_COMPACT:
            raise ValueError("a head period above 1 needs the Compact profile")
        sh.sh_sem_temporal_flag = 1
        sh.sh_sem_group_period_minus1 = [head_period - 1] + [0] * (NUM_SEM_GROUPS - 1)
        return _code_clip_temporal(values, sh, fpu, lam, max_level_error, profile)
    bound = default_max_level_error(profile) if max_level_error is None else max_level_error
    q = SemanticQuantiser(sh, lam, VISUAL_WEIGHTS, max_level_error=bound)
    scoring = SemanticQuantiser(sh, 0.0, VISUAL_WEIGHTS)     # distortion with the same weights
    chooser = ClosedLoopChooser(q)
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), q.round_levels(values[0]))
    pending: list[list[int]] = []
    per_element = np.zeros(len(NAMES) + 1)
    content = 0.0      # ideal bits of the frames' syntax elements (the rest of a unit is framing)
    dist = 0.0
    skipped = 0
    max_err = 0.0
    levels_out = [q.round_levels(values[0])]
    for v in values[1:]:
        decision, parts = chooser.next_frame(v, w, pending, breakdown=True)
        per_element += parts
        content += decision.bits
        prev = pending[-1] if pending else w.state.prev_levels
        skipped += decision.levels == prev
        dist += sum(scoring.element_distortion(i, lv, x) for i, (lv, x) in enumerate(zip(decision.levels, v)))
        max_err = max(max_err, max(abs(lv - x * (1 << p)) for i, (lv, x, p) in
                                   enumerate(zip(decision.levels, v, sh.sh_sem_precision)) if NAMES[i] != "head_loc"))
        pending.append(decision.levels)
        levels_out.append(decision.levels)
        if len(pending) == fpu:
            w.semantic_unit(pending)
            pending = []
    if pending:
        w.semantic_unit(pending)
    bits = sum(8 * r.num_bytes for r in w.records if r.unit_type == UnitType.SEMANTIC)
    return {"bits": bits, "frames": len(values) - 1, "per_element": per_element, "distortion": dist,
            "framing": bits - content,
            "skipped": skipped, "max_level_error": max_err, "levels": levels_out}


def _code_clip_temporal(values: np.ndarray, sh: SequenceHeader, fpu: int, lam: float | None,
                        max_level_error: float | None, profile: int) -> dict[str, object]:
    """code_clip( ) with temporal sub-sampling: units of fpu frames, levels per unit; the per
    element bits are priced afterwards on the coded residuals with the writer's CABAC state."""
    bound = default_max_level_error(profile) if max_level_error is None else max_level_error
    q = SemanticQuantiser(sh, lam, VISUAL_WEIGHTS, max_level_error=bound)
    scoring = SemanticQuantiser(sh, 0.0, VISUAL_WEIGHTS)
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), q.round_levels(values[0]))
    layout = group_layout(sh)
    per_element = np.zeros(len(NAMES) + 1)
    content = dist = max_err = 0.0
    skipped = 0
    levels_out = [q.round_levels(values[0])]
    for start in range(1, len(values), fpu):
        unit_values = values[start:start + fpu]
        prev = w.state.prev_levels
        assert prev is not None
        if lam is None:
            unit = interpolate_unit(sh, prev, [q.round_levels(v) for v in unit_values])
        else:
            unit = choose_unit_levels(q, unit_values, w)
        rate = SemanticRateModel(sh, w.state.carry.trial_state())
        num = len(unit)
        for f, res in enumerate(unit_residuals(sh, prev, unit)):
            groups = frame_group_list(layout.groups, sem_periods(sh), f, num)
            if not groups:
                continue
            rate.groups = groups
            skip = not any(res)
            per_element[0] += rate.skip_bits(int(skip))
            if not skip:
                for i, r in enumerate(res):
                    if layout.group[i] in groups:
                        per_element[i + 1] += rate.element_bits(i, r)
            content += rate.commit(res)
        for lv, v in zip(unit, unit_values):
            skipped += lv == levels_out[-1]
            dist += sum(scoring.element_distortion(i, x, y) for i, (x, y) in enumerate(zip(lv, v)))
            max_err = max(max_err, max(abs(x - y * (1 << p)) for i, (x, y, p) in
                                       enumerate(zip(lv, v, sh.sh_sem_precision)) if NAMES[i] != "head_loc"))
            levels_out.append(lv)
        w.semantic_unit(unit)
    bits = sum(8 * r.num_bytes for r in w.records if r.unit_type == UnitType.SEMANTIC)
    return {"bits": bits, "frames": len(values) - 1, "per_element": per_element, "distortion": dist,
            "framing": bits - content, "skipped": skipped, "max_level_error": max_err, "levels": levels_out}


def rate_tables(names: list[str], qps: list[int], fpus: list[int], extra_bounds: list[float],
                profile: int = PROFILE_MAIN, head_periods: list[int] | None = None) -> tuple[str, dict[str, object]]:
    from ref_encoder.analysis import apply_smoothing
    series = {n: apply_smoothing(raw_semantics(n)[0], "one_euro") for n in names}
    frames = sum(len(v) - 1 for v in series.values())
    settings: list[tuple[str, float | None, float | None]] = [("off", None, None)]
    settings += [(f"auto QP {qp}", lambda_for_qp(qp), None) for qp in qps]
    settings += [(f"auto QP {qp}, max error {b:g}", lambda_for_qp(qp), b) for b in extra_bounds for qp in qps]
    period_of = {label: 1 for label, _, _ in settings}
    for hp in head_periods or []:
        for label, lam, bound in list(settings):
            settings.append((f"{label}, head /{hp}", lam, bound))
            period_of[f"{label}, head /{hp}"] = hp
    results: dict[tuple[str, int, int], dict[str, object]] = {}
    for label, lam, bound in settings:
        for mode, _ in MODES:
            for fpu in fpus:
                acc: dict[str, object] = {"bits": 0, "per_element": np.zeros(len(NAMES) + 1), "distortion": 0.0,
                                          "skipped": 0, "max_level_error": 0.0, "framing": 0.0}
                for v in series.values():
                    r = code_clip(v, mode, fpu, lam, bound, profile, period_of[label])
                    acc["bits"] += r["bits"]  # type: ignore[operator]
                    acc["per_element"] = acc["per_element"] + r["per_element"]  # type: ignore[operator]
                    acc["distortion"] += r["distortion"]  # type: ignore[operator]
                    acc["skipped"] += r["skipped"]  # type: ignore[operator]
                    acc["framing"] += r["framing"]  # type: ignore[operator]
                    acc["max_level_error"] = max(acc["max_level_error"], r["max_level_error"])  # type: ignore[call-overload]
                results[(label, mode, fpu)] = acc
                print(f"rate: {label} mode {mode} fpu {fpu}: {acc['bits'] / frames:.2f} bits/frame",  # type: ignore[operator]
                      file=sys.stderr, flush=True)
    syntax = ("Compact profile: semantic-unit syntax 2 (spec 1.2 draft), default error bound "
              f"{default_max_level_error(profile):g} levels" if profile == PROFILE_COMPACT
              else f"Main profile: semantic-unit syntax 1, default error bound {default_max_level_error(profile):g} levels")
    out = [f"Test split: {len(names)} sequences, {frames} semantic frames (frame 0 of each is the key frame); "
           "default precisions (Table 3), causal One-Euro smoothing, analysed semantics from the cache. "
           f"{syntax}.", ""]
    out += ["### Bits per semantic frame (semantic units, framing included)", "",
            "| setting | lambda | " + " | ".join(f"{mn} fpu {f}" for _, mn in MODES for f in fpus) + " |",
            "|---|---|" + "---|" * (len(MODES) * len(fpus))]
    for label, lam, _ in settings:
        cells = [f"{results[(label, m, f)]['bits'] / frames:.2f}" for m, _ in MODES for f in fpus]  # type: ignore[operator]
        out.append(f"| {label} | {'-' if lam is None else f'{lam:.4g}'} | " + " | ".join(cells) + " |")
    out += ["", "kbit/s at 25 fps = bits/frame x 0.025.", ""]
    out += ["### Framing bits per semantic frame (unit bits minus the ideal bits of the frames' syntax elements: "
            "unit header, su_* elements, arithmetic coder flush and inefficiency, trailing bits, alignment)", "",
            "| setting | " + " | ".join(f"{mn} fpu {f}" for _, mn in MODES for f in fpus) + " |",
            "|---|" + "---|" * (len(MODES) * len(fpus))]
    for label, _, _ in settings:
        cells = [f"{results[(label, m, f)]['framing'] / frames:.2f}" for m, _ in MODES for f in fpus]  # type: ignore[operator]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += [""]
    out += ["### Skipped frames, largest level error, distortion (fpu 8)", "",
            "| setting | mode | skipped frames | max abs(level - v 2^p) | mean D per frame (mLPIPS^2) |", "|---|---|---|---|---|"]
    for label, _, _ in settings:
        for m, mn in MODES:
            r = results[(label, m, 8 if 8 in fpus else fpus[0])]
            out.append(f"| {label} | {mn} | {100 * r['skipped'] / frames:.1f} % | {r['max_level_error']:.3f} | "  # type: ignore[operator]
                       f"{r['distortion'] / frames:.4g} |")  # type: ignore[operator]
    for m, mn in MODES:
        fpu = 8 if 8 in fpus else fpus[0]
        out += ["", f"### Bits per frame per element, {mn}, fpu {fpu} (ideal bits of the element's syntax elements)", "",
                "| element | " + " | ".join(label for label, _, _ in settings) + " |", "|---|" + "---|" * len(settings)]
        for k, name in enumerate(["sf_skip_flag", *NAMES]):
            cells = [f"{results[(label, m, fpu)]['per_element'][k] / frames:.3f}" for label, _, _ in settings]  # type: ignore[index]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    summary = {f"{label}|{m}|{f}": {"bits_per_frame": results[(label, m, f)]["bits"] / frames,  # type: ignore[operator]
                                     "framing_per_frame": results[(label, m, f)]["framing"] / frames,  # type: ignore[operator]
                                     "per_element": (np.asarray(results[(label, m, f)]["per_element"]) / frames).tolist(),
                                     "skipped_share": results[(label, m, f)]["skipped"] / frames}  # type: ignore[operator]
               for (label, m, f) in results}
    return "\n".join(out) + "\n", summary


# ---------------------------------------------------------------------------------------
# Quality, end to end
# ---------------------------------------------------------------------------------------
def _source(name: str, limit: int | None) -> np.ndarray:
    from bitstream.raw_video import iter_rgb444
    frames = []
    for k, f in enumerate(iter_rgb444(sequence_path(name))):
        if limit and k >= limit:
            break
        frames.append(f)
    return np.stack(frames)


def _encode_decode(src: np.ndarray, qp: int, setting: str, profile: int = PROFILE_MAIN
                   ) -> tuple[np.ndarray, list[list[int]], int, int]:
    from ref_decoder.decoder import Decoder
    from ref_encoder.encoder import Encoder, EncoderConfig
    cfg = EncoderConfig(keyframe_qp=qp, semantic_lambda=setting, profile_idc=profile)
    result = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(list(src))
    dec = list(Decoder().decode(result.stream))
    sem_bits = sum(8 * r.num_bytes for r in result.writer.records if r.unit_type == UnitType.SEMANTIC)
    return np.stack([f.rgb for f in dec]), [f.levels for f in result.frames], sem_bits, 8 * len(result.stream)


def quality_tables(names: list[str], qps: list[int], limit: int | None, strips_qp: int,
                   out_dir: Path, slow_qps: list[int], profile: int = PROFILE_MAIN
                   ) -> tuple[str, dict[str, object]]:
    """before: Main profile, lambda off (the encoder before RDOQ); after: the profile's default
    (auto lambda, the profile's error bound)."""
    from conformance.metrics import dists_frames, lpips_frames
    rows = []
    strips: list[tuple[str, np.ndarray]] = []
    weights = np.array([VISUAL_WEIGHTS.get(n, 0.0) for n in NAMES])
    scale = np.array([2.0 ** -ELEMENT_BY_ID[i].default_precision for i in BASELINE_ELEMENT_IDS])
    for name in names:
        src = _source(name, limit)
        for qp in qps:
            scores = {}
            decoded = {}
            levels = {}
            for setting in ("off", "auto"):
                dec, lv, sem_bits, total_bits = _encode_decode(src, qp, setting,
                                                               PROFILE_MAIN if setting == "off" else profile)
                if len(dec) != len(src):
                    raise RuntimeError(f"{name}: {len(dec)} decoded frames for {len(src)} source frames")
                tenth = slice(0, None, 10)
                slow = qp in slow_qps
                scores[setting] = {
                    "lpips_alex": float(lpips_frames(src, dec, "alex", batch_size=8).mean()),
                    "lpips_vgg": float(lpips_frames(src[tenth], dec[tenth], "vgg", batch_size=4).mean())
                    if slow else float("nan"),
                    "dists": float(dists_frames(src[tenth], dec[tenth], batch_size=4).mean()) if slow else float("nan"),
                    "sem_bits_per_frame": sem_bits / (len(src) - 1), "kbps": total_bits / 1000 / (len(src) / 25)}
                decoded[setting], levels[setting] = dec, np.array(lv)
                print(f"quality: {name} QP {qp} {setting}: {scores[setting]}", file=sys.stderr, flush=True)
            rows.append({"sequence": name, "qp": qp, "frames": len(src), **{f"{k}_{s}": v for s in scores
                                                                            for k, v in scores[s].items()}})
            if qp == strips_qp:
                moved = np.abs(levels["auto"] - levels["off"]) * scale * weights
                for group, members in GROUPS.items():
                    idx = [NAMES.index(m) for m in members]
                    k = int(np.argmax(moved[:, idx].sum(axis=1)))
                    if moved[k, idx].sum() > 0:
                        strip = np.concatenate([src[k], decoded["off"][k], decoded["auto"][k]], axis=1)
                        strips.append((f"{name}_qp{qp}_{group}_frame{k:03d}.png", strip))
    _write_strips(out_dir, strips)
    return _quality_markdown(rows, qps, profile), {"rows": rows, "strips": [s for s, _ in strips]}


def _write_strips(out_dir: Path, strips: list[tuple[str, np.ndarray]]) -> None:
    import cv2
    out_dir.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        for fname, strip in strips:
            ok, png = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"cannot encode {fname}")
            outputs.write_bytes(out_dir / fname, png.tobytes())


def _quality_markdown(rows: list[dict[str, object]], qps: list[int], profile: int = PROFILE_MAIN) -> str:
    metrics = (("lpips_alex", "LPIPS-Alex (every frame)"), ("lpips_vgg", "LPIPS-VGG (every 10th)"),
               ("dists", "DISTS (every 10th)"))
    after = "Compact profile (semantic-unit syntax 2), auto" if profile == PROFILE_COMPACT else "auto"
    out = ["Reference encoder (VVC key frame, CABAC, 8 frames per unit, One-Euro smoothing) with "
           f"--semantic-lambda off, Main profile (before) and {after} (after); reference decoder, geometric generator. "
           "Mean per sequence, then over sequences. Change = after / before - 1 (lower is better).", "",
           "| QP | semantic bits/frame before | after | " + " | ".join(f"{t} before | after | change" for _, t in metrics)
           + " | kbit/s before | after |",
           "|---|---|---|" + "---|---|---|" * len(metrics) + "---|---|"]
    for qp in qps:
        sel = [r for r in rows if r["qp"] == qp]
        if not sel:
            continue

        def mean(key: str) -> float:
            return float(np.mean([r[key] for r in sel]))  # type: ignore[misc]
        cells = [f"{mean('sem_bits_per_frame_off'):.2f}", f"{mean('sem_bits_per_frame_auto'):.2f}"]
        for key, _ in metrics:
            b, a = mean(f"{key}_off"), mean(f"{key}_auto")
            cells += ["-", "-", "-"] if np.isnan(b) else [f"{b:.4f}", f"{a:.4f}", f"{100 * (a / b - 1):+.2f} %"]
        cells += [f"{mean('kbps_off'):.3f}", f"{mean('kbps_auto'):.3f}"]
        out.append(f"| {qp} | " + " | ".join(cells) + " |")
    out += ["", "Per sequence, LPIPS-Alex before -> after:", "", "| sequence | QP | frames | LPIPS-Alex before | after | change |",
            "|---|---|---|---|---|---|"]
    for r in rows:
        b, a = r["lpips_alex_off"], r["lpips_alex_auto"]
        out.append(f"| {r['sequence']} | {r['qp']} | {r['frames']} | {b:.4f} | {a:.4f} | {100 * (a / b - 1):+.2f} % |")  # type: ignore[operator]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rdoq_study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["rate", "quality"])
    ap.add_argument("--split", default="test", choices=["train", "validation", "test"])
    ap.add_argument("--qps", type=int, nargs="+", default=[22, 32, 42, 52])
    ap.add_argument("--fpu", type=int, nargs="+", default=[1, 8, 16])
    ap.add_argument("--extra-max-errors", type=float, nargs="*", default=[],
                    help="rate: also these --semantic-max-error values (default lambda at each QP)")
    ap.add_argument("--frames", type=int, help="quality: at most this many frames per sequence")
    ap.add_argument("--strips-qp", type=int, default=42)
    ap.add_argument("--slow-metrics-qps", type=int, nargs="+",
                    help="quality: QPs at which LPIPS-VGG and DISTS are measured (default: all; each takes about "
                         "1 s a frame on 2 CPU cores)")
    ap.add_argument("--profile", choices=["main", "compact"], default="main",
                    help="rate: the semantic-unit syntax (compact: syntax 2 of spec 1.2) and the profile's default "
                         "error bound; quality: the profile of 'after'")
    ap.add_argument("--head-periods", type=int, nargs="*", default=[],
                    help="rate, Compact profile: also every setting with the head group at these SemPeriods "
                         "(spec 7.2a; the encoder's default is 3)")
    ap.add_argument("--out", type=Path, help="folder (default docs/results/rdoq_<UTC date>)")
    args = ap.parse_args(argv)
    names = [n for n in load_split()[args.split] if sequence_path(n).is_file()]
    missing = sorted(set(load_split()[args.split]) - set(names))
    if missing:
        print(f"error: sequences missing ({', '.join(missing)}): run python -m tools.prepare_sequences "
              "--raw ../shared/data/faces/raw --out work/sequences", file=sys.stderr)
        return 2
    out_dir = args.out or Path("docs") / "results" / f"rdoq_{datetime.datetime.now(datetime.UTC):%Y-%m-%d}"
    profile = PROFILE_COMPACT if args.profile == "compact" else PROFILE_MAIN
    command = "python -m tools.rdoq_study " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.part == "rate":
        text, data = rate_tables(names, args.qps, args.fpu, args.extra_max_errors, profile, args.head_periods)
    else:
        text, data = quality_tables(names, args.qps, args.frames, args.strips_qp, out_dir / "strips",
                                    args.slow_metrics_qps or args.qps, profile)
    text = write_study(out_dir, args.part, "RDOQ study", command, text, data)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
