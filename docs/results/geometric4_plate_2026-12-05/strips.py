"""Pictures for ifvc-geometric-4 (Annex H.7: ifvc-geometric-3 with the guard band in the
person layer and a harmonic plate under it).

Codes the 7 test clips (first 100 frames) with the encoder's defaults at key-frame QP 42 (the
demo's), naming ifvc-geometric-3, and decodes each stream twice, with ifvc-geometric-3 and
with ifvc-geometric-4 (the decoder's generator override: the same semantics and key frame for
both). Writes source | geometric-3 | geometric-4 strips of the hard cases that
tools.generator_strips picks (largest head turn, widest mouth, most closed eye) and of the
decoder-side edits on three clips at frame 50 (first panel: the unedited source), plus, per
edit clip, the key frame and the two plates (what each generator shows where the person has
gone).

    python docs/results/geometric4_plate_2026-12-05/strips.py --sequences work/sequences \
        --work work/default_gen --out docs/results/geometric4_plate_2026-12-05
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ifvc_synthesis.generators import get_generator
from tools.generator_strips import (SPLIT_FILE, decode, edit_strips, encoded_clip, hard_case_strips,
                                    study_arguments, write_strip)

OLD, NEW = "ifvc-geometric-3", "ifvc-geometric-4"
EDIT_SEQUENCES = ("liveportrait_driving_d20", "sadtalker_RD_Radio34_000", "pcavs_Pose_Source_620900105")
EDIT_FRAME = 50


def plates(data: bytes) -> list[np.ndarray]:
    """The key frame and each generator's background plate for the stream's first key frame
    (the encoder's defaults add no other), uint8: only the first frame is decoded."""
    from ref_decoder.decoder import Decoder
    out = []
    for g in (OLD, NEW):
        gen = get_generator(g)
        first = next(iter(Decoder(generator=gen).decode(data)))
        if not out:
            out.append(first.rgb)
        out.append(np.clip(np.floor(gen.plate + 0.5), 0, 255).astype(np.uint8))  # type: ignore[attr-defined]
    return out


def main() -> None:
    args = study_arguments(Path(__file__).resolve().parent)
    names = json.loads(SPLIT_FILE.read_text())["test"]
    streams = {n: encoded_clip(args.work, args.sequences, n, OLD, args.qp, args.frames) for n in names}
    decoded = {g: {n: decode(streams[n], g) for n in names} for g in (OLD, NEW)}
    hard_case_strips(args.out, args.sequences, [("geometric-3", decoded[OLD]), ("geometric-4", decoded[NEW])])
    for n in EDIT_SEQUENCES:
        key, plate3, plate4 = plates(streams[n])
        write_strip(args.out / f"plate_{n}.png", [(key, "key frame"), (plate3, "geometric-3 plate"),
                                                   (plate4, "geometric-4 plate")])
        edit_strips(args.out, args.sequences, n, EDIT_FRAME, decoded[OLD][n][EDIT_FRAME].values,
                    [("g3", streams[n], OLD), ("g4", streams[n], NEW)])


if __name__ == "__main__":
    main()
