"""ifvc-edit: rewrite the semantics of an IFVC stream without re-encoding the video.

The same edits as the decoder's (set, offset, scale or hold an element over a frame range)
are applied to the reconstructed values of semantic frames, quantised again at the stream's
precisions, and a new conforming stream is written: the sequence header (same parameters),
every key-frame unit's payload byte for byte, semantic units with the same grouping, and
hash units recomputed. Key frames are shown as coded, so edits do not change them, nor do
they change inferred frames (which repeat the coded levels before them). An edit of
head_loc moves the head by rewriting head_tx / head_ty (spec 8.6.1), so the stream must
signal both; head_loc is then derived again from them.

The rewrite itself is ref_decoder/stream_editing.py (the conformance suite uses it too); this
is its command-line front end.
"""
from __future__ import annotations

import sys

from bitstream.errors import BitstreamError
from bitstream.stream import StreamParser
from ref_decoder.edits import EditApplier, EditError, parse_edit
from ref_decoder.stream_editing import edit_stream

from ifvc_common.errors import fail
from ifvc_common.outputs import OutputTransaction
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import check_outputs, read_input_file

PROG = "ifvc-edit"


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    ap = CommandParser(prog=PROG, description=__doc__)
    ap.add_argument("stream", help="the .ifvc stream to edit")
    ap.add_argument("-o", "--output", required=True,
                    help="the edited stream (its folder must exist; never the input file)")
    ap.add_argument("--edit", action="append", required=True, metavar="ELEMENT:OP[=V]@FIRST[-LAST]",
                    help="an edit (repeatable), e.g. mouth_open:set=0.3@20-40")
    args = ap.parse_args(argv)
    check_outputs([args.stream], [args.output])
    data = read_input_file(args.stream, "stream")
    try:
        edits = EditApplier([parse_edit(e) for e in args.edit],
                            warn=lambda msg: print(f"ifvc-edit: warning: {msg}", file=sys.stderr))
        out, changed = edit_stream(data, edits)
        list(StreamParser().parse(out))     # the result must parse as a conforming stream
    except (BitstreamError, EditError) as exc:
        fail(str(exc))
    with OutputTransaction() as outputs:
        outputs.write_bytes(args.output, out)
    print(f"{changed} frame(s) changed; {len(data)} -> {len(out)} bytes; key-frame payloads unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
