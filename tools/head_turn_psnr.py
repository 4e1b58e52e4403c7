"""Study: PSNR-RGB of each generator on the head-turn frames of one stream.

    python -m tools.head_turn_psnr --sequences work/seq --stream work/streams/NAME_qp32_f100.ifvc \
        [--name NAME] [--min-turn 15] [--generators ifvc-geometric-1 ifvc-geometric-2 ifvc-geometric-3]

Decodes the stream with each generator (the decoder's generator override: same key frame and
semantics for all) and reports the mean PSNR-RGB over the frames whose decoded pose differs
from the key frame's by at least --min-turn degrees (|yaw - key yaw| + |pitch - key pitch|),
over the other frames, and over all frames, on the whole picture and inside the face (the
convex hull of the target landmarks of the decoded semantics, IDI of Annex E.3: where the
codec puts the face, which is not always where the source shows it); writes the per-frame
values as JSON with --json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d2 = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean(axis=2)
    mse = float(d2.mean() if mask is None else d2[mask].mean())
    return 10.0 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--stream", type=Path, required=True)
    ap.add_argument("--name", help="sequence name (default: the stream's name before _qp)")
    ap.add_argument("--min-turn", type=float, default=15.0)
    ap.add_argument("--generators", nargs="+",
                    default=["ifvc-geometric-1", "ifvc-geometric-2", "ifvc-geometric-3"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from ref_decoder.decoder import Decoder
    from ifvc_synthesis.generators import get_generator
    name = args.name or args.stream.name.split("_qp")[0]
    data = args.stream.read_bytes()
    per: dict[str, list[float]] = {}
    per_face: dict[str, list[float]] = {}
    turn: list[float] = []
    masks: list[np.ndarray] = []
    for g in args.generators:
        gen = get_generator(g)
        frames = list(Decoder(generator=gen).decode(data))
        source = read_rgb444(args.sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=len(frames))
        if not masks:
            for f in frames:
                m = np.zeros(f.rgb.shape[:2], np.uint8)
                hull = cv2.convexHull(gen.target_geometry(f.values).landmarks.astype(np.float32))
                cv2.fillConvexPoly(m, np.round(hull).astype(np.int32), 1)
                masks.append(m > 0)
        per[g] = [psnr(f.rgb, s) for f, s in zip(frames, source)]
        per_face[g] = [psnr(f.rgb, s, m) if m.any() else float("nan") for f, s, m in zip(frames, source, masks)]
        key = frames[0].values
        turn = [abs(f.values[0] - key[0]) + abs(f.values[1] - key[1]) for f in frames]
    sel = np.array(turn) >= args.min_turn
    print(f"{name}: {int(sel.sum())} of {len(sel)} frames turned by >= {args.min_turn} degrees "
          f"(|yaw - key yaw| + |pitch - key pitch|)")
    out = {"command": "python -m tools.head_turn_psnr " + " ".join(argv or sys.argv[1:]), "sequence": name,
           "turn_deg": turn, "frames_turned": int(sel.sum()), "psnr_rgb": per, "psnr_rgb_face": per_face,
           "mean": {}}
    for g in per:
        m = {}
        for label, values in (("", per[g]), ("face_", per_face[g])):
            p_ = np.array(values)
            m.update({f"{label}turned": float(np.nanmean(p_[sel])) if sel.any() else None,
                      f"{label}other": float(np.nanmean(p_[~sel])) if (~sel).any() else None,
                      f"{label}all": float(np.nanmean(p_))})
        out["mean"][g] = m
        print(f"  {g}: turned frames {m['turned']:.2f} dB (face {m['face_turned']:.2f}), other frames "
              f"{m['other']:.2f} dB (face {m['face_other']:.2f}), all {m['all']:.2f} dB (face {m['face_all']:.2f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
