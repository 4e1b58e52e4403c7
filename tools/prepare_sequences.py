"""ifvc-prepare-sequences: face-crop real talking-face clips into IFVC test sequences.

    python -m tools.prepare_sequences --raw ../shared/data/faces/raw --out work/sequences [--only NAME ...]

The command-line front end of conformance/sequence_preparation.py, whose docstring (shown by
--help) describes every step and the manifest.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

from conformance import sequence_preparation
from conformance.sequence_preparation import (PrepareError, is_up_to_date, load_manifest, output_names, prepare_clip,
                                              save_manifest)
from ifvc_common.argtypes import int_range
from ifvc_common.files import sha256_file
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import refuse_same_file

PROG = "ifvc-prepare-sequences"


@command(PROG, interrupted="finished clips are kept; re-run to resume")
def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=sequence_preparation.__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="folder with the source .mp4 clips")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder (git-ignored, e.g. work/sequences; created if missing)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="clip names (file stems) to prepare")
    parser.add_argument("--max-frames", type=int_range(1), default=250, help="frames per sequence at most (10 s at 25 fps)")
    parser.add_argument("--force", action="store_true", help="redo clips even when up to date")
    args = parser.parse_args(argv)
    if not args.raw.is_dir():
        print(f"error: --raw {args.raw} is not a folder", file=sys.stderr)
        return 2
    clips = sorted(args.raw.glob("*.mp4"))
    if args.only:
        wanted = {Path(n).stem for n in args.only}
        missing = sorted(wanted - {c.stem for c in clips})
        if missing:
            print(f"error: not found in {args.raw}: {', '.join(missing)}", file=sys.stderr)
            return 2
        clips = [c for c in clips if c.stem in wanted]
    if not clips:
        print(f"error: no .mp4 clips in {args.raw}", file=sys.stderr)
        return 2
    # no clip may be one of the files this run writes (a clip linked to an earlier output)
    refuse_same_file(clips, [args.out / "manifest.json", args.out / "manifest.csv",
                             *(args.out / fn for clip in clips for fn in output_names(clip.stem).values())])
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"error: cannot create {args.out}: {e}", file=sys.stderr)
        return 2
    entries = load_manifest(args.out)
    failures = 0
    for n, clip in enumerate(clips, 1):
        progress = f"[{n}/{len(clips)}] {clip.stem}:"
        try:
            source_sha = sha256_file(clip)
        except OSError as e:
            print(f"{progress} error: cannot read: {e}", file=sys.stderr)
            failures += 1
            continue
        if not args.force and is_up_to_date(entries.get(clip.stem), source_sha, args.max_frames, args.out):
            print(f"{progress} up to date, skipped", file=sys.stderr)
            continue
        t0 = time.time()
        try:
            entry = prepare_clip(clip, args.out, args.max_frames, progress, source_sha)
        except PrepareError as e:
            print(f"{progress} error: {e}", file=sys.stderr)
            failures += 1
            continue
        entries[clip.stem] = asdict(entry)
        save_manifest(args.out, entries)   # after every clip, so an interrupted run keeps its work
        warn = ("; warnings: " + "; ".join(entry.warnings)) if entry.warnings else ""
        print(f"{progress} {entry.frames} frames, crop {entry.crop_box}, {time.time() - t0:.1f} s{warn}",
              file=sys.stderr)
    save_manifest(args.out, entries)
    if failures:
        print(f"{failures} clip(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
