"""Visual weight of each semantic element: how much LPIPS-Alex a change of the element moves
the decoded picture, measured through the geometric generator on real frames.

    python -m tools.calibrate_semantic_weights [--split train] [--clips 3] [--every 12]
        [--steps 1 2 4] [--write ref_encoder/semantic_visual_weights.py]

Per clip (prepared sequences, work/sequences): the first frames are coded by the reference
encoder (raw key frame, so the key picture is exact) and decoded; on every --every-th decoded
frame, each element is moved by +-k steps of its Table 3 default precision (2**-p, k in
--steps) from the decoded value, the frame is synthesised again, and LPIPS-Alex between the
moved and the unmoved synthesis is taken. The weight of an element is the mean LPIPS per
element unit (LPIPS / (k * 2**-p), averaged over frames, signs and steps); the table also
shows the slope at each k, so one can see how linear LPIPS is in the change. head_loc is
derived from head_tx/head_ty (Annex B.3) and gets no weight of its own.

--write stores the weights (times 1000: milli-LPIPS per element unit) as the encoder's table,
with this command line in its docstring. The encoder never imports the decoder; this tool may.
"""
from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream.semantic_elements import FACE_ELEMENTS as SEMANTIC_ELEMENTS   # the face's 14 (landmark analysis)
from ifvc_common.outputs import OutputTransaction
from tools.semantics_cache import load_split, sequence_path

# bg_tx, bg_ty (spec 1.2): milli-LPIPS-Alex per picture width of a plate shift, measured through
# ifvc-geometric-3 on the QP 32 streams of liveportrait_driving_d13, _d20, videoretalking_face_2 and
# sadtalker_RD_Radio34_000 (every 12th frame, shifts of 1, 2, 4 pixels in four directions: 1065,
# 1234, 1175); the geometric generator this tool measures through has no plate.
BACKGROUND_WEIGHT = 1158.0
LOC = next(i for i, e in enumerate(SEMANTIC_ELEMENTS) if e.name == "head_loc")


def _frames(path: Path, n: int) -> list[np.ndarray]:
    from bitstream.raw_video import iter_rgb444
    out = []
    for k, f in enumerate(iter_rgb444(path)):
        if k >= n:
            break
        out.append(f)
    return out


def measure_clip(name: str, num_frames: int, every: int, steps: list[int]) -> np.ndarray:
    """LPIPS slopes (elements x steps x samples) of one clip, in LPIPS per element unit."""
    from conformance.metrics import lpips_frames
    from ref_decoder.decoder import Decoder
    from ref_encoder.encoder import Encoder, EncoderConfig

    frames = _frames(sequence_path(name), num_frames)
    cfg = EncoderConfig(keyframe_codec="raw", semantic_lambda="off")
    stream = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames)).encode(frames).stream
    dec = Decoder()
    decoded = list(dec.decode(stream))
    gen = dec.generator
    assert gen is not None
    samples = [f for f in decoded[1::every]]
    slopes = np.full((len(SEMANTIC_ELEMENTS), len(steps), 2 * len(samples)), np.nan)
    for s, frame in enumerate(samples):
        base = gen.synthesize(frame.values)
        moved, where = [], []
        for i, el in enumerate(SEMANTIC_ELEMENTS):
            if i == LOC:
                continue
            for j, k in enumerate(steps):
                for sign_idx, sign in enumerate((1, -1)):
                    delta = sign * k * 2.0 ** -el.default_precision
                    v = frame.values.copy()
                    v[i] = np.clip(v[i] + delta, el.min_value, el.max_value)
                    if v[i] == frame.values[i]:
                        continue
                    moved.append(gen.synthesize(v))
                    where.append((i, j, 2 * s + sign_idx, abs(v[i] - frame.values[i])))
        scores = lpips_frames(np.stack([base] * len(moved)), np.stack(moved), "alex", batch_size=16)
        for (i, j, col, dv), score in zip(where, scores):
            slopes[i, j, col] = score / dv
        print(f"{name}: sample {s + 1}/{len(samples)}", file=sys.stderr, flush=True)
    return slopes


def weights_module(weights: dict[str, float], command: str, table: str) -> str:
    lines = [f'    "{n}": {w:.6g},' for n, w in weights.items()]
    return (
        '"""Visual weight of each semantic element for the rate-distortion optimised quantiser\n'
        "(semantic_rdoq.py): milli-LPIPS-Alex per element unit, measured through the geometric\n"
        "generator on real frames of the train split (informative; encoder only). Made by\n\n"
        f"    {command}\n\n"
        "(tools/calibrate_semantic_weights.py; its docstring says how). Mean slope, in milli-LPIPS\n"
        "per element unit, at each step size (k default-precision levels):\n\n"
        f"{table}\n"
        "head_loc is derived from head_tx/head_ty (Annex B.3): no weight of its own.\n"
        f"bg_tx and bg_ty (spec 1.2): {BACKGROUND_WEIGHT:g}, measured through ifvc-geometric-3 (its plate moves,\n"
        "Annex G.5a; the geometric generator has none): tools/calibrate_semantic_weights.py, BACKGROUND_WEIGHT.\n\"\"\"\n"
        "from __future__ import annotations\n\n"
        "VISUAL_WEIGHTS: dict[str, float] = {\n" + "\n".join(lines) + "\n}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="calibrate_semantic_weights", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="train", choices=["train", "validation", "test"])
    ap.add_argument("--only", nargs="+", help="clip names (default: the first --clips prepared clips of the split)")
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--frames", type=int, default=97, help="frames coded per clip")
    ap.add_argument("--every", type=int, default=12, help="sample every this many decoded frames")
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--write", type=Path, help="write the weights module here")
    args = ap.parse_args(argv)
    names = args.only or [n for n in load_split()[args.split] if sequence_path(n).is_file()][:args.clips]
    if not names:
        print(f"error: no prepared sequences of the {args.split} split in work/sequences: run "
              "python -m tools.prepare_sequences --raw ../shared/data/faces/raw --out work/sequences",
              file=sys.stderr)
        return 2
    per_clip = [measure_clip(n, args.frames, args.every, args.steps) for n in names]
    slopes = np.concatenate(per_clip, axis=2)
    header = "| element | " + " | ".join(f"k={k}" for k in args.steps) + " | weight |"
    rows = [header, "|" + "---|" * (len(args.steps) + 2)]
    weights: dict[str, float] = {}
    for i, el in enumerate(SEMANTIC_ELEMENTS):
        if i == LOC:
            weights[el.name] = 0.0
            continue
        per_k = [1000 * float(np.nanmean(slopes[i, j])) for j in range(len(args.steps))]
        weights[el.name] = 1000 * float(np.nanmean(slopes[i]))
        rows.append(f"| {el.name} | " + " | ".join(f"{v:.4g}" for v in per_k) + f" | {weights[el.name]:.4g} |")
    # bg_tx, bg_ty: the geometric generator has no plate; the value measured through geometric-3
    weights["bg_tx"] = weights["bg_ty"] = BACKGROUND_WEIGHT
    table = "\n".join(rows)
    print(f"clips: {', '.join(names)}")
    print(table)
    if args.write:
        command = "python -m tools.calibrate_semantic_weights " + " ".join(argv if argv is not None else sys.argv[1:])
        with OutputTransaction() as outputs:
            outputs.write_text(args.write, weights_module(weights, command.strip(), table))
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
