"""The main job: a face video is cropped to a 256x256, 25 fps test sequence, encoded with IFVC,
decoded, and the rate (kbit/s, split into key frame, semantics and the rest) and quality
(PSNR on RGB, LPIPS-Alex, against the source frames) are printed.

Default input: a clip of the test split from ../shared/data/faces/raw; give your own video
with --input (it is face-cropped the same way)."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ifvc_common.argtypes import int_range  # noqa: E402
from ifvc_common.parser import CommandParser, command  # noqa: E402
from ifvc_common.paths import refuse_same_file  # noqa: E402
from bitstream.generator_registry import DEFAULT_GENERATOR_NAME  # noqa: E402
from ifvc_synthesis.generators import known_generators  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "faces" / "raw" / "fomm_demo_old_08.mp4"


@command("ifvc-demo")
def main(argv: list[str] | None = None) -> int:
    ap = CommandParser(prog="ifvc-demo", description=__doc__)
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="a face video (any size)")
    ap.add_argument("--frames", type=int_range(2), default=100, help="frames to code (at 25 fps)")
    ap.add_argument("--qp", type=int_range(0, 63), default=42, help="key-frame QP")
    ap.add_argument("--out", type=Path, default=Path("out") / "e2e", help="work and output folder (created if missing)")
    ap.add_argument("--generator", choices=known_generators(), default=DEFAULT_GENERATOR_NAME,
                    help="the generator named in the stream and used to decode it (spec Table 3a)")
    args = ap.parse_args(argv)
    if not args.input.is_file():
        print(f"ifvc-demo: error: input video not found: {args.input}"
              + (" (the default clip lives in ../shared/data beside the checkout; "
                 "give your own with --input)" if args.input == DEFAULT_INPUT else ""), file=sys.stderr)
        return 1

    from conformance.sequence_preparation import PrepareError, output_names, prepare_clip
    from ifvc_common.files import sha256_file
    from bitstream.raw_video import read_rgb444
    from ref_encoder import cli as encode_cli
    from ref_decoder import cli as decode_cli
    from conformance.metrics import lpips, psnr_rgb

    seq_dir = args.out / "sequence"
    seq = seq_dir / output_names(args.input.stem)["rgb"]
    other = args.generator != DEFAULT_GENERATOR_NAME
    tag = f"_{args.generator}" if other else ""
    stream = args.out / f"{args.input.stem}_qp{args.qp}{tag}.ifvc"
    decoded = args.out / f"{args.input.stem}_qp{args.qp}{tag}_decoded.rgb"
    refuse_same_file([args.input], [*(seq_dir / fn for fn in output_names(args.input.stem).values()),
                                    stream, decoded])
    seq_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        entry = prepare_clip(args.input, seq_dir, args.frames, "[demo]", sha256_file(args.input))
    except PrepareError as exc:
        print(f"ifvc-demo: error: {exc}", file=sys.stderr)
        return 1
    # a registered name: the encoder writes its registered SHA-256 (Table 3a), which the
    # decoder checks against the weights it ships
    generator_args = ["--generator", args.generator] if other else []
    print(f"sequence: {seq} ({entry.frames} frames, crop {entry.crop_box}) in {time.time() - t0:.1f} s")
    t1 = time.time()
    rc = encode_cli.main([str(seq), "--width", "256", "--height", "256", "--qp", str(args.qp),
                          "-o", str(stream), "--quiet", *generator_args])
    if rc:
        return rc
    t2 = time.time()
    rc = decode_cli.main([str(stream), "-o", str(decoded), "--quiet"])
    if rc:
        return rc
    t3 = time.time()
    src = read_rgb444(seq)
    out = read_rgb444(decoded)
    psnr = sum(psnr_rgb(a, b) for a, b in zip(src, out)) / len(out)
    lp = sum(lpips(a, b, "alex") for a, b in zip(src, out)) / len(out)
    n = len(out)
    print(f"encode {n / (t2 - t1):.1f} frames/s, decode {n / (t3 - t2):.1f} frames/s")
    print(f"quality over {n} frames ({args.generator}): PSNR-RGB {psnr:.2f} dB, LPIPS-Alex {lp:.4f}")
    print(f"stream: {stream}; decoded video: {decoded} (ifvc-decode {stream.name} -o x.mp4 to watch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
