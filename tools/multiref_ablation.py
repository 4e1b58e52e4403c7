"""What multiple references add: the same stream decoded by ifvc-geometric-2 over the reference
store (Annex G.6) and by its single-reference layered generator (newest key frame only).

    python -m tools.multiref_ablation --sequences work/seq --names A B ... [--frames 50] [--qp 42] \
        [--settings period25 18] [--strips OUT_DIR] [--json OUT.json]

A setting is periodN (a key frame every N frames) or a refresh threshold in dB. Prints PSNR-RGB
and LPIPS-Alex (every frame) of both decodes, the frames whose pictures differ, and with
--strips writes source | newest key frame only | multi-reference strips of the frames where
multi-reference gains most PSNR.
"""
from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return 100.0 if mse == 0 else 10 * float(np.log10(255.0 ** 2 / mse))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", required=True)
    ap.add_argument("--names", nargs="+", required=True)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--settings", nargs="+", default=["period25", "18"])
    ap.add_argument("--strips", help="folder for strips of the frames multi-reference changes most")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from conformance.metrics.lpips import lpips_frames
    from ifvc_synthesis.generators import LayeredGenerator
    from ref_decoder.decoder import Decoder
    from ref_encoder.encoder import Encoder, EncoderConfig

    out: dict = {"command": " ".join(["python -m tools.multiref_ablation", *(argv or sys.argv[1:])]), "rows": []}
    for name in args.names:
        src = read_rgb444(Path(args.sequences) / f"{name}_256x256_25_8bit_444.rgb", max_frames=args.frames)
        for setting in args.settings:
            kw = ({"keyframe_period": int(setting[6:])} if setting.startswith("period")
                  else {"refresh": float(setting)})
            cfg = EncoderConfig(keyframe_qp=args.qp, generator_name="ifvc-geometric-2", **kw)
            res = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(iter(src))
            multi = np.stack([f.rgb for f in Decoder().decode(res.stream)])
            newest = np.stack([f.rgb for f in Decoder(generator=LayeredGenerator()).decode(res.stream)])
            row = {"clip": name, "setting": setting, "kbps": 8 * len(res.stream) / 1000 / (len(src) / 25),
                   "key_frames": [f.frame_idx for f in res.frames if f.kind == "key"],
                   "frames_changed": int(np.sum(np.any(multi != newest, axis=(1, 2, 3))))}
            gains = []
            for label, dec in (("multi", multi), ("newest_only", newest)):
                psnr = np.array([_psnr(s, d) for s, d in zip(src, dec)])
                row[label] = {"psnr_rgb": float(psnr.mean()), "lpips_alex": float(lpips_frames(src, dec, "alex").mean())}
                gains.append(psnr)
            gain = gains[0] - gains[1]
            row["largest_gains"] = [(int(i), round(float(gain[i]), 2)) for i in np.argsort(-gain)[:3]]
            row["largest_losses"] = [(int(i), round(float(gain[i]), 2)) for i in np.argsort(gain)[:3]]
            out["rows"].append(row)
            print(json.dumps(row), flush=True)
            if args.strips and row["frames_changed"]:
                for i, _ in row["largest_gains"][:1] + row["largest_losses"][:1]:
                    strip = np.hstack([src[i], newest[i], multi[i]])
                    path = Path(args.strips) / f"strip_multiref_{name}_{setting}_{i:03d}.png"
                    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
