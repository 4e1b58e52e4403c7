"""Command line: ``python -m anchors.run --codec vvc|hevc|vtm --qp 37 --input SEQ.rgb ...``.

Encodes, decodes and writes ``<input stem>_<codec>_qp<QP>.{266|265,rgb,json}`` in --out.
Errors are one line on stderr and exit status 2, without a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

from anchors.configs import CODECS
from anchors.errors import AnchorError
from anchors.runner import AnchorJob, print_progress, run_anchor
from ifvc_common.argtypes import float_range, int_range
from ifvc_common.parser import CommandParser, command

EXIT_ERROR = 2     # anchors/README.md: every error is one a user can fix (input, config, tools)
PROG = "anchors.run"


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="python -m anchors.run",
        description="Run one IFVC anchor (VVenC, x265 or VTM) on an 8-bit RGB 4:4:4 planar "
                    "sequence: encode, decode, and write the stream, the decoded .rgb and a "
                    "JSON result.",
        command_name="ifvc-anchor",
        exit_codes_note="ifvc-anchor exits 2 on every error (input, config or encoder tools; anchors/README.md).")
    parser.add_argument("--codec", required=True, choices=CODECS, help="the anchor codec")
    parser.add_argument("--qp", required=True, type=int_range(0, 63),
                        help="37, 42, 47 or 52 in the CTC (the codec's config bounds it further)")
    parser.add_argument("--input", required=True, type=Path, help="<name>_WxH_FPS_8bit_444.rgb")
    parser.add_argument("--width", type=int_range(2, 65536), default=256, help="picture width (even)")
    parser.add_argument("--height", type=int_range(2, 65536), default=256, help="picture height (even)")
    parser.add_argument("--fps", type=float_range(0, 1000, lo_open=True), default=25.0, help="frame rate")
    parser.add_argument("--frames", type=int_range(1), default=None, help="default: all frames")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--ffmpeg", type=Path, default=None,
                        help="ffmpeg binary (default: $IFVC_FFMPEG, imageio-ffmpeg's, PATH)")
    parser.add_argument("--config", type=Path, default=None,
                        help="anchor config JSON (default: anchors/configs/ for the codec)")
    parser.add_argument("--vtm-encoder", type=Path, default=None, help="VTM EncoderApp")
    parser.add_argument("--vtm-decoder", type=Path, default=None, help="VTM DecoderApp")
    parser.add_argument("--vtm-cfg", type=Path, default=None,
                        help="VTM cfg (default encoder_lowdelay_vtm.cfg, looked up in the "
                             "VTM tree's cfg/)")
    parser.add_argument("--preset", default=None,
                        help="encoder preset (vvc: faster, fast, medium, slow, slower; default: "
                             "the config's, faster); a non-default preset is in the file names")
    parser.add_argument("--force", action="store_true", help="redo even if up to date")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


@command(PROG, interrupted="no output written")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    job = AnchorJob(codec=args.codec, qp=args.qp, input_path=args.input, out_dir=args.out,
                    width=args.width, height=args.height, fps=args.fps, frames=args.frames,
                    ffmpeg=args.ffmpeg, vtm_encoder=args.vtm_encoder,
                    vtm_decoder=args.vtm_decoder, vtm_cfg=args.vtm_cfg,
                    config_path=args.config, preset=args.preset, force=args.force)
    try:
        result = run_anchor(job, progress=None if args.quiet else print_progress)
    except AnchorError as error:
        print(f"anchors.run: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(Path(result.stream_path).with_suffix(".json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
