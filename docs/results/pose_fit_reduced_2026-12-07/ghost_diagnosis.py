"""Where pcavs_Pose's ghost outline comes from: the key frame's person mask (Annex G.3), drawn
on the key picture, and the person alpha warped to the target frame, drawn on the decoded and on
the source picture (red: the mask's or the alpha's outline at 1/2).

    python docs/results/pose_fit_reduced_2026-12-07/ghost_diagnosis.py STREAM.ifvc SEQ_256x256_25_8bit_444.rgb \
        --frame 98 --out ghost.png

The stream's generator must be a layered one (ifvc-geometric-2 to -7: synthesize_with_layers and
the key alpha); the reference the frame is drawn from is the newest key frame before it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ref_decoder.decoder import Decoder


def outlined(picture: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    out = picture.copy()
    out[cv2.Canny((alpha >= 0.5).astype(np.uint8) * 255, 50, 150) > 0] = (255, 0, 0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stream", type=Path)
    ap.add_argument("source", type=Path)
    ap.add_argument("--frame", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--zoom", type=float, default=1.5)
    a = ap.parse_args()
    dec = Decoder()
    frame = next(f for f in dec.decode(a.stream.read_bytes()) if f.frame_idx == a.frame)
    gen = dec.generator
    image, _, _, layers, _ = gen.synthesize_with_layers(frame.values)     # type: ignore[union-attr]
    key_alpha = np.asarray(gen._alpha_key).reshape(image.shape[:2])        # type: ignore[union-attr]
    size = image.shape[0]
    source = np.fromfile(a.source, np.uint8).reshape(-1, 3, size, size)[a.frame].transpose(1, 2, 0)
    strip = np.hstack([outlined(gen.key_rgb, key_alpha), outlined(frame.rgb, layers.person_alpha),  # type: ignore[union-attr]
                       outlined(np.ascontiguousarray(source), layers.person_alpha)])
    strip = cv2.resize(strip, None, fx=a.zoom, fy=a.zoom, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(a.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
