"""Edits side by side for two generators, from the strip frames that two runs of
tools.edit_background_study wrote (OUT/frames/CLIP/GENERATOR_EDIT.png): per clip one row, the
source, then unedited and each edit, the first run's generator beside the second's.

    python docs/results/geometric8_mask_2026-12-07/edit_strip.py --before OUT7 ifvc-geometric-7 \
        --after OUT8 ifvc-geometric-8 --clips pcavs_Pose_Source_620900105 fomm_demo_old_08 \
        --edits unedited head_yaw_offset25 head_tx_offset-0.2 head_loc --out strip_edits.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", nargs=2, required=True, metavar=("OUT", "GENERATOR"))
    ap.add_argument("--after", nargs=2, required=True, metavar=("OUT", "GENERATOR"))
    ap.add_argument("--clips", nargs="+", required=True)
    ap.add_argument("--edits", nargs="+", required=True)
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    rows = []
    for clip in a.clips:
        tiles = [cv2.imread(str(Path(a.before[0]) / "frames" / clip / "source.png"))]
        for edit in a.edits:
            for out, gen in (a.before, a.after):
                path = Path(out) / "frames" / clip / f"{gen}_{edit}.png"
                tile = cv2.imread(str(path))
                if tile is None:
                    raise SystemExit(f"missing {path}")
                tiles.append(tile)
        rows.append(np.hstack(tiles))
    cv2.imwrite(str(a.out), np.vstack(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
