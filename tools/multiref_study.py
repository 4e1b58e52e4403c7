"""Study of adaptive refresh + multiple references (issue 14 items 3 and 4) on prepared clips.

    python -m tools.multiref_study --sequences work/seq --names A B ... --frames 100 --qp 42 \
        --out docs/results/multiref_2026-12-03 [--slow-every 10] [--settings one period25 auto 18]

For each clip and setting (one key frame; a fixed key-frame period; adaptive refresh at a few
thresholds), all with ifvc-geometric-2 (multi-reference): encode, decode, and measure total
kbit/s, key frames, PSNR-RGB and LPIPS-Alex on every frame, LPIPS-VGG and DISTS on every
slow-every-th frame. On the one-key-frame decode it also ranks candidate refresh measures
(face-region PSNR, full-frame PSNR, LPIPS-Alex at 128x128) against full-size LPIPS-Alex
(Spearman rank correlation) and times them. Writes results.json, results.md and strips
(source | one key frame | adaptive refresh + multi-ref) of the head-turn and open-mouth frames.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from bitstream.semantic_elements import SEMANTIC_ELEMENTS

I = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
GENERATOR = "ifvc-geometric-2"


def _settings(qp: int, names: list[str]) -> list[tuple[str, dict]]:
    """The settings named: one (one key frame), periodN, auto, or a threshold in dB."""
    from ref_encoder.adaptive_refresh import auto_threshold
    out: list[tuple[str, dict]] = []
    for name in names:
        if name == "one":
            out.append(("one key frame", {}))
        elif name.startswith("period"):
            out.append((f"period {int(name[6:])}", {"keyframe_period": int(name[6:])}))
        elif name == "auto":
            out.append((f"refresh auto ({auto_threshold(qp):g} dB)", {"refresh": "auto"}))
        else:
            out.append((f"refresh {float(name):g} dB", {"refresh": float(name)}))
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return 100.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", required=True)
    ap.add_argument("--names", nargs="+", required=True)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--slow-every", type=int, default=10)
    ap.add_argument("--out", required=True)
    ap.add_argument("--settings", nargs="+", default=["one", "period25", "auto", "18"],
                    help="one, periodN, auto or a threshold in dB (the first must be one)")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from conformance.metrics.dists import dists_frames
    from conformance.metrics.lpips import lpips_frames
    from ref_decoder.decoder import Decoder
    from ref_encoder.adaptive_refresh import face_box, region_psnr
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.encoder import Encoder, EncoderConfig

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"command": " ".join(["python -m tools.multiref_study", *(argv or sys.argv[1:])]),
                     "generator": GENERATOR, "qp": args.qp, "frames": args.frames, "clips": {}}
    measure_rows = []
    for name in args.names:
        src = read_rgb444(Path(args.sequences) / f"{name}_256x256_25_8bit_444.rgb", max_frames=args.frames)
        clip: dict = {}
        decoded_by_setting: dict[str, np.ndarray] = {}
        logs = {}
        for label, kw in _settings(args.qp, args.settings):
            cfg = EncoderConfig(keyframe_qp=args.qp, generator_name=GENERATOR, **kw)
            t0 = time.perf_counter()
            res = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(iter(src))
            enc_s = time.perf_counter() - t0
            dec = np.stack([f.rgb for f in Decoder().decode(res.stream)])
            decoded_by_setting[label] = dec
            logs[label] = res.frames
            psnr = [_psnr(s, d) for s, d in zip(src, dec)]
            alex = lpips_frames(src, dec, "alex")
            slow = list(range(args.slow_every // 2, len(src), args.slow_every))
            vgg = lpips_frames(src[slow], dec[slow], "vgg")
            dists = dists_frames(src[slow], dec[slow])
            keys = [f.frame_idx for f in res.frames if f.kind == "key"]
            clip[label] = {"kbps": 8 * len(res.stream) / 1000 / (len(src) / 25), "key_frames": keys,
                           "psnr_rgb": float(np.mean(psnr)), "psnr_rgb_min": float(np.min(psnr)),
                           "lpips_alex": float(np.mean(alex)), "lpips_vgg": float(np.mean(vgg)),
                           "dists": float(np.mean(dists)), "encode_fps_busy": len(src) / enc_s,
                           "per_frame_psnr": [round(float(p), 3) for p in psnr],
                           "per_frame_lpips_alex": [round(float(a), 5) for a in alex]}
            print(f"{name} {label}: {clip[label]['kbps']:.2f} kbit/s, {len(keys)} key frames, "
                  f"PSNR {clip[label]['psnr_rgb']:.2f}, LPIPS-Alex {clip[label]['lpips_alex']:.4f}, "
                  f"VGG {clip[label]['lpips_vgg']:.4f}, DISTS {clip[label]['dists']:.4f}", flush=True)
        results["clips"][name] = clip
        # refresh measures against full-size LPIPS-Alex, on the one-key-frame decode
        one = decoded_by_setting["one key frame"]
        with FaceAnalyzer(tracking=True) as fa:
            marks = [fa.analyze_frame(f).landmarks for f in src]
        t0 = time.perf_counter()
        face = np.array([region_psnr(d, s, face_box(m, 256, 256)) if m is not None else 100.0
                         for d, s, m in zip(one, src, marks)])
        t_face = (time.perf_counter() - t0) / len(src)
        t0 = time.perf_counter()
        full = np.array([_psnr(s, d) for s, d in zip(src, one)])
        t_full = (time.perf_counter() - t0) / len(src)
        small = lambda x: np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in x])  # noqa: E731
        t0 = time.perf_counter()
        alex_small = lpips_frames(small(src), small(one), "alex")
        t_small = (time.perf_counter() - t0) / len(src)
        alex_full = np.array(clip["one key frame"]["per_frame_lpips_alex"])
        measure_rows.append({"clip": name, "face_psnr_rho": _spearman(-face, alex_full),
                             "full_psnr_rho": _spearman(-full, alex_full),
                             "lpips_alex_128_rho": _spearman(alex_small, alex_full),
                             "ms_face_psnr": 1000 * t_face, "ms_full_psnr": 1000 * t_full,
                             "ms_lpips_alex_128": 1000 * t_small})
        print(measure_rows[-1], flush=True)
        # strips: hardest pose frame and widest mouth frame of the clip
        vals = np.array([f.values for f in logs["one key frame"]])
        key = vals[0]
        picks = {"head_turn": int(np.argmax(np.abs(vals[:, I["head_yaw"]] - key[I["head_yaw"]])
                                            + np.abs(vals[:, I["head_pitch"]] - key[I["head_pitch"]]))),
                 "open_mouth": int(np.argmax(vals[:, I["mouth_open"]]))}
        auto_label = next(lbl for lbl in clip if lbl.startswith("refresh auto"))
        clip["strips"] = {}
        for kind, idx in picks.items():
            strip = np.hstack([src[idx], one[idx], decoded_by_setting[auto_label][idx]])
            fname = f"strip_{name}_{kind}_{idx:03d}.png"
            cv2.imwrite(str(out / fname), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
            clip["strips"][kind] = {"frame": idx, "file": fname}
    results["measures"] = measure_rows
    (out / "results.json").write_text(json.dumps(results, indent=1))
    _markdown(results, out / "results.md")
    return 0


def _markdown(results: dict, path: Path) -> None:
    clips = results["clips"]
    labels = [lbl for lbl in next(iter(clips.values())) if lbl != "strips"]
    lines = [f"# Adaptive refresh + multiple references ({results['generator']}, key-frame QP {results['qp']}, "
             f"{results['frames']} frames)", "", f"Command: `{results['command']}`", "",
             "| setting | kbit/s | key frames (sum) | PSNR-RGB | worst clip PSNR | LPIPS-Alex | LPIPS-VGG* | DISTS* |",
             "|---|---|---|---|---|---|---|---|"]
    for lbl in labels:
        rows = [c[lbl] for c in clips.values()]
        worst = min(rows, key=lambda r: r["psnr_rgb"])
        lines.append(f"| {lbl} | {np.mean([r['kbps'] for r in rows]):.2f} | {sum(len(r['key_frames']) for r in rows)} | "
                     f"{np.mean([r['psnr_rgb'] for r in rows]):.2f} | {worst['psnr_rgb']:.2f} | "
                     f"{np.mean([r['lpips_alex'] for r in rows]):.4f} | {np.mean([r['lpips_vgg'] for r in rows]):.4f} | "
                     f"{np.mean([r['dists'] for r in rows]):.4f} |")
    lines += ["", "\\* sampled frames only.", "", "## Per clip", "",
              "| clip | setting | kbit/s | key frames | PSNR-RGB | LPIPS-Alex | LPIPS-VGG* | DISTS* |",
              "|---|---|---|---|---|---|---|---|"]
    for name, c in clips.items():
        for lbl in labels:
            r = c[lbl]
            lines.append(f"| {name} | {lbl} | {r['kbps']:.2f} | {len(r['key_frames'])} | {r['psnr_rgb']:.2f} | "
                         f"{r['lpips_alex']:.4f} | {r['lpips_vgg']:.4f} | {r['dists']:.4f} |")
    lines += ["", "## Refresh measures against full-size LPIPS-Alex (one-key-frame decode)", "",
              "| clip | face-region PSNR rho | full PSNR rho | LPIPS-Alex 128 rho | ms face PSNR | ms full PSNR | ms LPIPS-Alex 128 |",
              "|---|---|---|---|---|---|---|"]
    for m in results["measures"]:
        lines.append(f"| {m['clip']} | {m['face_psnr_rho']:.3f} | {m['full_psnr_rho']:.3f} | {m['lpips_alex_128_rho']:.3f} | "
                     f"{m['ms_face_psnr']:.2f} | {m['ms_full_psnr']:.2f} | {m['ms_lpips_alex_128']:.1f} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
