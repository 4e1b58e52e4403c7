"""Key frames of campaign cells with their person masks: per key frame one row, the key picture,
Annex G.3's mask (ifvc-geometric-7) and Annex H.11's (ifvc-geometric-8) outlined in green.

    python docs/results/geometric8_mask_2026-12-07/mask_figure.py --qp 32 --out OUT.png \
        --cell work/camp_g7k_test/cells/g7k/pcavs_Pose_Source_620900105 ...

Reads CELL/CLIP_CODEC_qpQP.ifvc (the directory's name is the clip, its parent's the codec) and
decodes it with ifvc-geometric-7, keeping every key picture and its decoded landmarks.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import ref_decoder.decoder as rd  # noqa: E402
from ifvc_synthesis.generators.geometric_7 import ToneMouthMeshGenerator  # noqa: E402
from ifvc_synthesis.generators.person_mask import derive_person_mask  # noqa: E402


def key_frames(stream: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(key picture, key landmarks) of every key frame the stream carries."""
    got: list[tuple[np.ndarray, np.ndarray]] = []

    class Keeper(ToneMouthMeshGenerator):
        def set_keyframe(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().set_keyframe(*args, **kwargs)
            assert self.key_rgb is not None and self.model is not None
            got.append((self.key_rgb.copy(), self.model.key_landmarks.copy()))

    for _ in rd.Decoder(generator=Keeper()).decode(stream.read_bytes()):
        pass
    return got


def outlined(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = picture.copy()
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (0, 255, 0), 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qp", type=int, required=True)
    ap.add_argument("--cell", action="append", required=True, type=Path)
    ap.add_argument("--max-keys", type=int, default=4, help="key frames per cell at most")
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    rows = []
    for cell in a.cell:
        stream = cell / f"{cell.name}_{cell.parent.name}_qp{a.qp}.ifvc"
        if not stream.is_file():
            raise SystemExit(f"{stream} is missing")
        for key, landmarks in key_frames(stream)[:a.max_keys]:
            g3 = derive_person_mask(key, landmarks)
            h11 = derive_person_mask(key, landmarks, learn_above_chin=True)
            rows.append(np.hstack([key, outlined(key, g3), outlined(key, h11)]))
            print(f"{cell.name}: G.3 {int(g3.sum())} px, H.11 {int(h11.sum())} px, {int((g3 != h11).sum())} differ")
    cv2.imwrite(str(a.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
