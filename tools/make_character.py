"""ifvc-character: turn a face picture (a photo or an avatar) into a virtual character for the
decoder: the face is cropped like the test sequences (tools/prepare_sequences.py), resized to
the stream's picture size, and coded as a one-key-frame IFVC stream, so that it carries the
picture, its reference semantics and its geometry. `ifvc-decode STREAM --character CHAR.ifvc`
then animates the character with STREAM's semantics (relative motion transfer).
Its library code is conformance/virtual_character.py (the studio uses it too)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ref_encoder.analysis import NoFaceError  # noqa: E402
from ref_encoder.keyframe_coding import KeyframeCodingError  # noqa: E402

from ifvc_common.argtypes import int_range  # noqa: E402
from ifvc_common.errors import fail  # noqa: E402
from ifvc_common.outputs import OutputTransaction  # noqa: E402
from ifvc_common.parser import CommandParser, command  # noqa: E402
from ifvc_common.paths import check_outputs  # noqa: E402

from conformance.virtual_character import DEFAULT_CHARACTER_QP, make_character  # noqa: E402

PROG = "ifvc-character"


def _even_size(text: str) -> int:
    size = int_range(16, 1024)(text)
    if size % 2:
        raise argparse.ArgumentTypeError(f"must be an even integer in 16..1024, not {size}")
    return size


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    ap = CommandParser(prog=PROG, description=__doc__)
    ap.add_argument("image", help="a face picture (PNG, JPEG, ...)")
    ap.add_argument("-o", "--output", required=True,
                    help="the character stream (.ifvc; its folder must exist; never the input file)")
    ap.add_argument("--size", type=_even_size, default=256, help="picture size of the streams it will animate")
    ap.add_argument("--qp", type=int_range(0, 63), default=DEFAULT_CHARACTER_QP, help="key-frame QP (the character is sent once)")
    args = ap.parse_args(argv)
    check_outputs([args.image], [args.output])
    if not Path(args.image).is_file():
        fail(f"picture not found: {args.image}")
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if bgr is None:
        fail(f"cannot read {args.image} as a picture")
    try:
        data = make_character(np.ascontiguousarray(bgr[:, :, ::-1]), args.size, args.qp)
    except (NoFaceError, KeyframeCodingError, ValueError) as exc:
        fail(str(exc))
    with OutputTransaction() as outputs:
        outputs.write_bytes(args.output, data)
    print(f"character {args.output}: {len(data)} bytes, {args.size}x{args.size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
