"""What a refresh key picture would cost if VVC could predict it from the previous key picture.

For each clip and each refresh position t, the source frame t is coded (a) as today, VVC intra at
the key-frame QP with the encoder's own settings (ref_encoder.keyframe_coding.encode_vvc_intra,
preset medium), and (b) as the second picture of a two-picture VVenC low-delay stream whose
first picture is source frame 0 (the anchors' low-delay parameters, GOP 8), at the lowest QP
from the key-frame QP downwards whose decoded PSNR-RGB reaches (a)'s. Printed: the bytes of
(a), of (b)'s second picture (the stream's bytes less those of the first picture coded alone),
and their ratio. A study for a syntax that does not exist: IFVC key pictures are intra.

    python docs/results/dists_budget_2026-12-06/inter_refresh_cost.py --qp 32 --at 25 50 75 \
        --sequences work/sequences CLIP ...
"""
import argparse
import subprocess
from pathlib import Path

import numpy as np

from bitstream.keyframe_vvc import find_ffmpeg, to_8bit
from bitstream.picture_format import rgb_to_yuv420, yuv420_to_rgb
from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_from_mse
from ref_encoder.keyframe_coding import encode_vvc_intra

LOW_DELAY = "PicReordering=0:DecodingRefreshType=none:GOPSize=8:IntraPeriod=-1:AccessUnitDelimiter=0"


def low_delay(frames: list[np.ndarray], qp: int) -> bytes:
    raw = b"".join(b"".join((p.astype("<u2") << 2).tobytes() for p in rgb_to_yuv420(f)) for f in frames)
    h, w = frames[0].shape[:2]
    cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
           "-s", f"{w}x{h}", "-i", "pipe:0", "-c:v", "libvvenc", "-preset", "medium", "-qp", str(qp), "-qpa", "0",
           "-vvenc-params", LOW_DELAY, "-f", "vvc", "pipe:1"]
    return subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout


def last_picture(stream: bytes, w: int, h: int) -> np.ndarray:
    out = subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "vvc", "-i", "pipe:0",
                          "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "pipe:1"],
                         input=stream, capture_output=True, check=True).stdout
    n_y, n_c = w * h, (w // 2) * (h // 2)
    buf = np.frombuffer(out, "<u2")[-(n_y + 2 * n_c):]
    y = to_8bit(buf[:n_y].reshape(h, w), 10)
    cb = to_8bit(buf[n_y:n_y + n_c].reshape(h // 2, w // 2), 10)
    cr = to_8bit(buf[n_y + n_c:].reshape(h // 2, w // 2), 10)
    return yuv420_to_rgb(y, cb, cr)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return psnr_from_mse(float(np.mean((a.astype(np.float64) - b) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--at", type=int, nargs="+", default=[25, 50, 75])
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("clips", nargs="+")
    args = ap.parse_args()
    ratios = []
    for clip in args.clips:
        src = read_rgb444(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, max(args.at) + 1)
        for t in args.at:
            intra = encode_vvc_intra(src[t], args.qp)
            target = psnr(intra.decoded, src[t])
            for qp in range(args.qp, -1, -1):
                stream = low_delay([src[0], src[t]], qp)
                p = psnr(last_picture(stream, 256, 256), src[t])
                if p >= target:
                    break
            inter = len(stream) - len(low_delay([src[0]], qp))
            ratios.append(inter / len(intra.payload))
            print(f"{clip} frame {t}: intra QP {args.qp} {len(intra.payload)} B {target:.2f} dB | "
                  f"inter QP {qp} {inter} B {p:.2f} dB | ratio {ratios[-1]:.2f}", flush=True)
    print(f"mean ratio {np.mean(ratios):.2f}, median {np.median(ratios):.2f} over {len(ratios)} pictures "
          f"(first picture alone at QP {args.qp}: not counted)")


if __name__ == "__main__":
    main()
