"""ifvc-decode: .ifvc stream in, video out (.rgb, .yuv or .mp4), with optional edits of the
semantics, a virtual character, the decoded semantics as CSV/JSON and the hash check.

A hash mismatch (spec 8.5) does not stop decoding: every output is written in full, the
mismatch is reported and the exit code is 2."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
from pathlib import Path

from bitstream.errors import BitstreamError
from bitstream.keyframe_vvc import ToolMissingError
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_common.errors import describe_os_error, fail
from ifvc_common.exit_codes import EXIT_HASH_MISMATCH
from ifvc_common.outputs import OutputTransaction
from ifvc_common.argtypes import int_range
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import check_outputs
from ifvc_synthesis.cpu_threads import set_synthesis_threads

from .decoder import Character, Decoder, DecodingError, decode_keyframe_picture, values_from_levels
from .edits import EditApplier, EditError, parse_edit
from .video_output import VideoWriter, output_format

PROG = "ifvc-decode"


def load_character(path: Path) -> Character:
    """The key frame of a one-key-frame IFVC stream (made by ifvc-encode from a picture)."""
    return character_from_stream(path.read_bytes(), str(path))


def character_from_stream(data: bytes, name: str = "the character stream") -> Character:
    """The first key frame of an IFVC stream's bytes as a character (also used by the studio)."""
    from bitstream.stream import ParsedKeyframe, ParsedSequenceHeader, StreamParser
    sh = None
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
        elif isinstance(unit, ParsedKeyframe):
            assert sh is not None
            values = values_from_levels(sh, unit.levels)
            rgb, _ = decode_keyframe_picture(sh, unit.kf.kf_codec_id, unit.kf.kf_picture_payload)
            return Character(rgb, values, unit.kf.kf_geometry_payload, unit.kf.kf_geometry_version)
    raise DecodingError(f"{name} holds no key frame to use as a character")


def build_parser() -> CommandParser:
    ap = CommandParser(prog=PROG, description=__doc__,
                       exit_codes_note="ifvc-decode also exits 2 when a hash unit does not match the decoded "
                                       "data (the outputs are still written).")
    ap.add_argument("stream", help="an .ifvc stream")
    ap.add_argument("-o", "--output", help="decoded video: .rgb (planar 4:4:4), .yuv (4:2:0) or .mp4 "
                    "(its folder must exist; never an input file)")
    ap.add_argument("--semantics", help="write the decoded semantics (after edits) as .csv or .json")
    ap.add_argument("--levels", help="write the reconstructed integer levels (normative, before edits) "
                    "as CSV: frame_idx, kind, then one column per signalled element")
    ap.add_argument("--md5", action="store_true",
                    help="print the MD5 of the decoded pictures: the planar RGB 4:4:4 8-bit frames in "
                         "output order (R, G, B planes of frame 0, then frame 1, ...), which is the MD5 "
                         "of the .rgb output file")
    ap.add_argument("--edit", action="append", default=[], metavar="ELEMENT:OP[=V]@FIRST[-LAST]",
                    help="edit the semantics before synthesis (repeatable), e.g. head_yaw:offset=15@10-60")
    ap.add_argument("--generator", help="synthesise with this generator instead of the one the stream "
                    "names (its weights hash is then not checked against the stream)")
    ap.add_argument("--device", choices=["cpu", "cuda"], help="device of a learned generator")
    ap.add_argument("--threads", type=int_range(1, 256), metavar="N",
                    help="CPU threads of the synthesis (OpenCV, PyTorch); the output is the same for "
                         "any N (default: the libraries' own, one per core)")
    ap.add_argument("--character", help="an .ifvc stream whose key frame replaces the stream's (virtual character)")
    ap.add_argument("--max-frames", type=int_range(1), metavar="N",
                    help="refuse (exit 1, no output) a stream with more than N frames, for services "
                    "that decode untrusted streams (default: no limit)")
    ap.add_argument("--quiet", action="store_true", help="no progress messages")
    return ap


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not (args.output or args.semantics or args.levels or args.md5):
        fail("nothing to do: give -o OUTPUT, --semantics FILE, --levels FILE and/or --md5")
    # before anything is read or written (UsageError: exit status 2)
    check_outputs([args.stream, args.character], [args.output, args.semantics, args.levels])
    if args.semantics and Path(args.semantics).suffix.lower() not in (".csv", ".json"):
        fail("--semantics must end in .csv or .json")
    if args.output:
        try:
            output_format(args.output)
        except ValueError as exc:
            fail(str(exc))
    stream_path = Path(args.stream)
    if not stream_path.is_file():
        fail(f"stream not found: {stream_path}")
    writer = None
    md5 = hashlib.md5() if args.md5 else None
    try:
        with OutputTransaction() as outputs:    # every output file, or none
            edits = EditApplier([parse_edit(e) for e in args.edit],
                                warn=lambda msg: print(f"{PROG}: warning: {msg}", file=sys.stderr))
            character = load_character(Path(args.character)) if args.character else None
            data = stream_path.read_bytes()
            if args.device:
                os.environ["IFVC_GENERATOR_DEVICE"] = args.device
            if args.threads:
                set_synthesis_threads(args.threads)
            generator = None
            if args.generator:
                from ifvc_synthesis.generators import get_generator
                generator = get_generator(args.generator)
            dec = Decoder(edits=edits, character=character, generator=generator,
                          max_frames=args.max_frames)
            rows = []
            level_rows: list[list[object]] = []
            count = 0
            for frame in dec.decode(data):
                if writer is None and args.output:
                    assert dec.sh is not None
                    writer = VideoWriter(outputs.reserve(args.output), dec.sh.sh_pic_width,
                                         dec.sh.sh_pic_height, dec.sh.frame_rate)
                    outputs.on_abort(writer.abort)
                if writer is not None:
                    writer.write(frame.rgb)
                if md5 is not None:
                    md5.update(frame_to_rgb_planar(frame.rgb))
                if args.semantics:
                    rows.append((frame.frame_idx, frame.kind, [float(v) for v in frame.values]))
                if args.levels:
                    level_rows.append([frame.frame_idx, frame.kind, *frame.levels])
                count += 1
                if not args.quiet and count % 25 == 0:
                    print(f"\rdecoded {count} frames", end="", file=sys.stderr, flush=True)
            if not args.quiet and count >= 25:
                print("", file=sys.stderr)
            if writer is not None:
                writer.close()
            if args.semantics:
                outputs.write_text(args.semantics, _semantics_text(Path(args.semantics), rows))
            if args.levels:
                assert dec.sh is not None
                header = ["frame_idx", "kind", *(f"element_{e}" for e in dec.sh.sh_sem_element_id)]
                outputs.write_text(args.levels, _csv([header, *level_rows]))
    except (BitstreamError, DecodingError, EditError, ToolMissingError, ValueError, RuntimeError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(describe_os_error(exc))
    h = dec.hashes
    verdict = "no hash units" if not (h.semantics_checked or h.keyframes_checked) else (
        f"hash check: {'OK' if h.ok else 'MISMATCH'} ({h.semantics_checked} semantic, "
        f"{h.keyframes_checked} key-frame entries{'; ' + ', '.join(h.mismatches) if h.mismatches else ''})")
    print(f"{count} frames decoded; {verdict}")
    if md5 is not None:
        print(f"MD5 of the decoded pictures (planar RGB 4:4:4, 8 bits, {count} frames): {md5.hexdigest()}")
    return 0 if h.ok else EXIT_HASH_MISMATCH


def _semantics_text(path: Path, rows: list[tuple[int, str, list[float]]]) -> str:
    names = [e.name for e in SEMANTIC_ELEMENTS]
    if path.suffix.lower() == ".json":
        text = json.dumps({"elements": names, "frames": [
            {"frame_idx": i, "kind": k, "values": v} for i, k, v in rows]}, indent=1)
    else:
        text = _csv([["frame_idx", "kind", *names], *([i, k, *(f"{x:.10g}" for x in v)] for i, k, v in rows)])
    return text


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


if __name__ == "__main__":
    sys.exit(main())
