"""ifvc-decode: .ifvc stream in, video out (.rgb, .yuv or .mp4), with optional edits of the
semantics, a virtual character, the decoded semantics as CSV/JSON and the hash check.

A hash mismatch (spec 8.5) does not stop decoding: every output is written in full, the
mismatch is reported and the exit code is 2."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from bitstream.errors import BitstreamError
from bitstream.keyframe_vvc import ToolMissingError
from bitstream.semantic_elements import SEMANTIC_ELEMENTS

from .decoder import Character, Decoder, DecodingError, decode_keyframe_picture, values_from_levels
from .edits import EditApplier, EditError, parse_edit
from .video_output import VideoWriter


def _fail(msg: str) -> int:
    print(f"ifvc-decode: error: {msg}", file=sys.stderr)
    return 1


def load_character(path: Path) -> Character:
    """The key frame of a one-key-frame IFVC stream (made by ifvc-encode from a picture)."""
    from bitstream.stream import ParsedKeyframe, ParsedSequenceHeader, StreamParser
    sh = None
    for unit in StreamParser().parse(path.read_bytes()):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
        elif isinstance(unit, ParsedKeyframe):
            assert sh is not None
            values = values_from_levels(sh, unit.levels)
            rgb, _ = decode_keyframe_picture(sh, unit.kf.kf_codec_id, unit.kf.kf_picture_payload)
            return Character(rgb, values, unit.kf.kf_geometry_payload, unit.kf.kf_geometry_version)
    raise DecodingError(f"{path} holds no key frame to use as a character")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ifvc-decode", description=__doc__)
    ap.add_argument("stream", help="an .ifvc stream")
    ap.add_argument("-o", "--output", help="decoded video: .rgb (planar 4:4:4), .yuv (4:2:0) or .mp4")
    ap.add_argument("--semantics", help="write the decoded semantics (after edits) as .csv or .json")
    ap.add_argument("--levels", help="write the reconstructed integer levels (normative, before edits) "
                    "as CSV: frame_idx, kind, then one column per signalled element")
    ap.add_argument("--edit", action="append", default=[], metavar="ELEMENT:OP[=V]@FIRST[-LAST]",
                    help="edit the semantics before synthesis (repeatable), e.g. head_yaw:offset=15@10-60")
    ap.add_argument("--generator", help="synthesise with this generator instead of the one the stream "
                    "names (its weights hash is then not checked against the stream)")
    ap.add_argument("--device", choices=["cpu", "cuda"], help="device of a learned generator")
    ap.add_argument("--character", help="an .ifvc stream whose key frame replaces the stream's (virtual character)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--max-frames", type=int, metavar="N",
                    help="refuse (exit 1, no output) a stream with more than N frames, for services "
                    "that decode untrusted streams (default: no limit)")
    args = ap.parse_args(argv)
    if not (args.output or args.semantics or args.levels):
        return _fail("nothing to do: give -o OUTPUT, --semantics FILE and/or --levels FILE")
    if args.semantics and Path(args.semantics).suffix.lower() not in (".csv", ".json"):
        return _fail("--semantics must end in .csv or .json")
    if args.max_frames is not None and args.max_frames < 1:
        return _fail(f"--max-frames must be at least 1, got {args.max_frames}")
    stream_path = Path(args.stream)
    if not stream_path.is_file():
        return _fail(f"stream not found: {stream_path}")
    writer = None
    try:
        edits = EditApplier([parse_edit(e) for e in args.edit],
                            warn=lambda msg: print(f"ifvc-decode: warning: {msg}", file=sys.stderr))
        character = load_character(Path(args.character)) if args.character else None
        data = stream_path.read_bytes()
        if args.device:
            os.environ["IFVC_GENERATOR_DEVICE"] = args.device
        generator = None
        if args.generator:
            from .generators import get_generator
            generator = get_generator(args.generator)
        dec = Decoder(edits=edits, character=character, generator=generator, max_frames=args.max_frames)
        rows = []
        level_rows: list[list[object]] = []
        count = 0
        for frame in dec.decode(data):
            if writer is None and args.output:
                assert dec.sh is not None
                writer = VideoWriter(args.output, dec.sh.sh_pic_width, dec.sh.sh_pic_height, dec.sh.frame_rate)
            if writer is not None:
                writer.write(frame.rgb)
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
            _write_semantics(Path(args.semantics), rows)
        if args.levels:
            assert dec.sh is not None
            header = ["frame_idx", "kind", *(f"element_{e}" for e in dec.sh.sh_sem_element_id)]
            _write_text(Path(args.levels), _csv([header, *level_rows]))
    except (BitstreamError, DecodingError, EditError, ToolMissingError, ValueError) as exc:
        if writer is not None:
            writer.abort()
        return _fail(str(exc))
    except OSError as exc:
        if writer is not None:
            writer.abort()
        return _fail(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))
    h = dec.hashes
    verdict = "no hash units" if not (h.semantics_checked or h.keyframes_checked) else (
        f"hash check: {'OK' if h.ok else 'MISMATCH'} ({h.semantics_checked} semantic, "
        f"{h.keyframes_checked} key-frame entries{'; ' + ', '.join(h.mismatches) if h.mismatches else ''})")
    print(f"{count} frames decoded; {verdict}")
    return 0 if h.ok else 2


def _write_semantics(path: Path, rows: list[tuple[int, str, list[float]]]) -> None:
    names = [e.name for e in SEMANTIC_ELEMENTS]
    if path.suffix.lower() == ".json":
        text = json.dumps({"elements": names, "frames": [
            {"frame_idx": i, "kind": k, "values": v} for i, k, v in rows]}, indent=1)
    else:
        text = _csv([["frame_idx", "kind", *names], *([i, k, *(f"{x:.10g}" for x in v)] for i, k, v in rows)])
    _write_text(path, text)


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
