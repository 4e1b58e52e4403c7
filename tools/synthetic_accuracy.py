"""Accuracy of the analysis on synthetic ground truth built from real frames.

    python -m tools.synthetic_accuracy [--raw ../shared/data/faces/raw]

Prints the mean absolute error of head_roll (in-plane rotation), head_tz (zoom), head_tx/ty
(shift), and of the flip symmetry (yaw + yaw', roll + roll', eye swap), over frames of
several clips, with every frame analysed independently (no tracking).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tools.synthetic_pose import face_centre_px, flip, read_frames, warp

CLIPS = {"liveportrait_driving_d8": [0, 100], "sadtalker_RD_Radio2_000": [0, 120],
         "pcavs_Pose_Source_620900105": [0, 60], "videoretalking_face_2": [0, 80],
         "liveportrait_driving_d14": [30, 200]}
ANGLES = [-30.0, -15.0, -5.0, 5.0, 15.0, 30.0]
ZOOMS = [0.5, 0.7071, 1.4142]
SHIFTS = [(20.0, 0.0), (-16.0, 12.0), (0.0, -24.0)]


def measure(raw_dir: Path) -> dict[str, float]:
    from ref_encoder.analysis import FaceAnalyzer
    err: dict[str, list[float]] = {k: [] for k in
                                   ("roll_deg", "roll_yaw_change_deg", "roll_pitch_change_deg", "tz_log2",
                                    "tx", "ty", "flip_yaw_deg", "flip_roll_deg", "flip_pitch_deg", "flip_eye")}
    with FaceAnalyzer(tracking=False) as fa:
        for clip, idx in CLIPS.items():
            for img in read_frames(str(raw_dir / f"{clip}.mp4"), idx):
                base = fa.analyze_frame(img)
                if not base.face_found:
                    continue
                s0 = base.semantics
                c = face_centre_px(s0, 256, 256)
                for a in ANGLES:
                    s = fa.analyze_frame(warp(img, c, angle_cw_deg=a)).semantics
                    err["roll_deg"].append(abs(s[2] - s0[2] - a))
                    err["roll_yaw_change_deg"].append(abs(s[0] - s0[0]))
                    err["roll_pitch_change_deg"].append(abs(s[1] - s0[1]))
                for z in ZOOMS:
                    s = fa.analyze_frame(warp(img, c, zoom=z)).semantics
                    err["tz_log2"].append(abs(s[5] - s0[5] - np.log2(z)))
                for dx, dy in SHIFTS:
                    s = fa.analyze_frame(warp(img, c, shift=(dx, dy))).semantics
                    err["tx"].append(abs(s[3] - s0[3] - dx / 256))
                    err["ty"].append(abs(s[4] - s0[4] - dy / 256))
                s = fa.analyze_frame(flip(img)).semantics
                err["flip_yaw_deg"].append(abs(s[0] + s0[0]))
                err["flip_roll_deg"].append(abs(s[2] + s0[2]))
                err["flip_pitch_deg"].append(abs(s[1] - s0[1]))
                err["flip_eye"] += [abs(s[7] - s0[8]), abs(s[8] - s0[7])]
    return {k: float(np.mean(v)) for k, v in err.items()} | {"n_" + k: len(v) for k, v in err.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "raw")
    args = ap.parse_args(argv)
    if not args.raw.is_dir():
        print(f"error: --raw {args.raw} is not a folder", file=sys.stderr)
        return 2
    print(json.dumps(measure(args.raw), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
