"""Pictures for ifvc-geometric-5 (Annex H.8: ifvc-geometric-4 with bicubic key-frame samples,
the person faded out where the warp reaches above the key frame, the moved plate reflected).

Codes the 7 test clips (first 100 frames) with the encoder's defaults at key-frame QP 42 (the
demo's), naming ifvc-geometric-4, and decodes each stream twice, with ifvc-geometric-4 and
with ifvc-geometric-5 (the decoder's generator override: the same semantics and key frame for
both). Writes source | geometric-4 | geometric-5 strips of the hard cases that
tools.generator_strips picks (largest head turn, widest mouth, most closed eye), of the
decoder-side edits on three clips at frame 50 (first panel: the unedited source), and of the
frames where the picture's edge shows (EDGE_CASES: the head moved down from a key frame that
cuts the hair; a camera pan), each with a 2x crop of the region.

    python docs/results/geometric5_edges_2026-12-05/strips.py --sequences work/sequences \
        --work work/default_gen --out docs/results/geometric5_edges_2026-12-05
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tools.generator_strips import (SPLIT_FILE, decode, edit_strips, encoded_clip, hard_case_strips,
                                    source_frame, study_arguments, write_rows)

OLD, NEW = "ifvc-geometric-4", "ifvc-geometric-5"
EDIT_SEQUENCES = ("liveportrait_driving_d20", "sadtalker_RD_Radio34_000", "pcavs_Pose_Source_620900105")
EDIT_FRAME = 50
# (clip, frames, crop (x, y, size) shown at 2x): where geometric-4 replicated the picture's edge
EDGE_CASES = {"fomm_demo_old_08": ((65, 75, 85), (128, 0, 128)),
              "liveportrait_driving_d20": ((55, 95), (0, 128, 128))}


def zoom(rgb: np.ndarray, crop: tuple[int, int, int]) -> np.ndarray:
    x, y, size = crop
    return cv2.resize(rgb[y:y + size, x:x + size], (2 * size, 2 * size), interpolation=cv2.INTER_NEAREST)


def edge_strips(out: Path, sequences: Path, decoded: dict[str, dict[str, list]]) -> None:  # type: ignore[type-arg]
    """strip_edge_CLIP.png: per frame a row source | geometric-4 | geometric-5 and a row of the
    three 2x crops."""
    for n, (frames, crop) in EDGE_CASES.items():
        rows = []
        for i in frames:
            panels = [(source_frame(sequences, n, i), f"source {n[:22]} f{i}"),
                      (decoded[OLD][n][i].rgb, "geometric-4"), (decoded[NEW][n][i].rgb, "geometric-5")]
            rows.append(panels)
            rows.append([(zoom(rgb, crop), f"{label[:12]} 2x crop") for rgb, label in panels])
        write_rows(out / f"strip_edge_{n}.png", rows)


def main() -> None:
    args = study_arguments(Path(__file__).resolve().parent)
    names = json.loads(SPLIT_FILE.read_text())["test"]
    streams = {n: encoded_clip(args.work, args.sequences, n, OLD, args.qp, args.frames) for n in names}
    decoded = {g: {n: decode(streams[n], g) for n in names} for g in (OLD, NEW)}
    hard_case_strips(args.out, args.sequences, [("geometric-4", decoded[OLD]), ("geometric-5", decoded[NEW])])
    edge_strips(args.out, args.sequences, decoded)
    for n in EDIT_SEQUENCES:
        edit_strips(args.out, args.sequences, n, EDIT_FRAME, decoded[OLD][n][EDIT_FRAME].values,
                    [("g4", streams[n], OLD), ("g5", streams[n], NEW)])


if __name__ == "__main__":
    main()
