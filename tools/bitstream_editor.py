"""ifvc-edit: rewrite the semantics of an IFVC stream without re-encoding the video.

The same edits as the decoder's (set, offset, scale or hold an element over a frame range)
are applied to the reconstructed values of semantic frames, quantised again at the stream's
precisions, and a new conforming stream is written: the sequence header (same parameters),
every key-frame unit's payload byte for byte, semantic units with the same grouping, and
hash units recomputed. Key frames are shown as coded, so edits do not change them, nor do
they change inferred frames (which repeat the coded levels before them). An edit of
head_loc moves the head by rewriting head_tx / head_ty (spec 8.6.1), so the stream must
signal both; head_loc is then derived again from them.
"""
from __future__ import annotations

import sys

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.semantic_elements import ELEMENT_BY_NAME, SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import quantize
from bitstream.stream import (ParsedEndOfSequence, ParsedHash, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, StreamParser, StreamWriter)
from bitstream.structures import SequenceHeader
from ref_decoder.decoder import values_from_levels
from ref_decoder.edits import EditApplier, EditError, parse_edit

from ifvc_common.errors import fail
from ifvc_common.outputs import OutputTransaction
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import check_outputs, read_input_file

PROG = "ifvc-edit"


def _levels(sh: SequenceHeader, values: np.ndarray, original: list[int]) -> list[int]:
    out = []
    for i, (eid, p) in enumerate(zip(sh.sh_sem_element_id, sh.sh_sem_precision)):
        lo, hi = sh.level_bounds(i)
        out.append(original[i] if eid >= 14 else min(max(quantize(float(values[eid]), p), lo), hi))
    return out


def edit_stream(data: bytes, edits: EditApplier) -> tuple[bytes, int]:
    """Returns (the new stream, the number of frames whose levels changed)."""
    writer: StreamWriter | None = None
    sh: SequenceHeader | None = None
    changed = 0
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
            _check_signalled(sh, edits)
            writer = StreamWriter(sh)
        elif isinstance(unit, ParsedKeyframe):
            assert writer is not None
            kf = unit.kf
            writer.keyframe(kf.kf_picture_payload, kf.kf_ref_sem_level, codec_id=kf.kf_codec_id,
                            geometry_version=kf.kf_geometry_version, geometry_payload=kf.kf_geometry_payload,
                            frame_idx_delta=kf.kf_frame_idx_delta)
        elif isinstance(unit, ParsedSemanticUnit):
            assert writer is not None and sh is not None
            frames = [f for f in unit.frames if not f.inferred]
            new = []
            for f in frames:
                lv = _levels(sh, edits.apply(f.frame_idx, values_from_levels(sh, f.levels)), f.levels) \
                    if edits.touches(f.frame_idx) else f.levels
                changed += lv != f.levels
                new.append(lv)
            writer.semantic_unit(new, frame_idx_delta=unit.su.su_frame_idx_delta)
        elif isinstance(unit, ParsedHash):
            assert writer is not None
            # Key-frame picture hashes are unchanged by edits: carry them over.
            key_md5 = {c.entry.hu_first_frame_idx: c.entry.hu_md5 for c in unit.checks if c.matches is None}
            writer.hash_unit(keyframe_md5=key_md5)
        elif isinstance(unit, ParsedEndOfSequence):
            assert writer is not None
            writer.end_of_sequence()
    if writer is None:
        raise BitstreamError("no sequence header")
    edits.check_stream_length(writer.next_frame_idx)    # the whole stream is read: edits outside it fail
    for k, e in enumerate(edits.edits):
        if k not in edits.applied and e.first < writer.next_frame_idx:
            edits.warn(f"edit {e} covers only key frames or inferred frames, which the editor "
                       "does not rewrite; it changed nothing")
    return writer.getvalue(), changed


def _check_signalled(sh: SequenceHeader, edits: EditApplier) -> None:
    """An edit can only rewrite elements the stream carries; head_loc moves head_tx / head_ty."""
    signalled = set(sh.sh_sem_element_id)
    for e in edits.edits:
        el = ELEMENT_BY_NAME[e.element]
        needs = {el.element_id} if e.element != "head_loc" else {ELEMENT_BY_NAME["head_tx"].element_id,
                                                                  ELEMENT_BY_NAME["head_ty"].element_id}
        missing = needs - signalled
        if missing:
            names = ", ".join(x.name for x in SEMANTIC_ELEMENTS if x.element_id in missing)
            raise EditError(f"edit {e}: the stream does not signal {names}, so the editor cannot "
                            "rewrite it (the decoder's --edit can)")


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
