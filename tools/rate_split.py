"""Where the bits of IFVC streams go: the rate split per component (issue 13's report).

    python -m tools.rate_split STREAM.ifvc ...                 one row per stream
    python -m tools.rate_split --campaign OUT --codec ifvc     mean over sequences per rate point

Components (spec 7.3.1: every unit counted with its framing, the header byte and the leb128
unit_payload_size, so that the components add up to the file size):

* ``header``: the SEQUENCE_HEADER or COMPACT_SEQUENCE_HEADER unit;
* ``kf_picture``: the key frames' VVC bitstreams (kf_picture_payload);
* ``kf_geometry``: the key frames' geometry payloads (kf_geometry_payload);
* ``kf_rest``: the rest of the KEYFRAME units (their other syntax elements and framing);
* ``semantic``: the SEMANTIC units;
* ``hash``: the HASH units; ``eos``: the END_OF_SEQUENCE unit; ``other``: reserved units.

Rates are kbit/s at --fps over the stream's frames (the highest FrameIdx of a key frame or a
semantic frame, plus 1); ``semantic_bits_per_frame`` divides the semantic units' bits by the
frames after the first key frame (the frames that semantics carry).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from bitstream.errors import BitstreamError
from bitstream.stream import ParsedKeyframe, ParsedSemanticUnit, StreamParser
from bitstream.units import SEQUENCE_HEADER_TYPES, UnitType, iter_units
from ifvc_common.errors import CommandError
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import read_input_file

PROG = "python -m tools.rate_split"

COMPONENTS = ("header", "kf_picture", "kf_geometry", "kf_rest", "semantic", "hash", "eos", "other")
_UNIT_COMPONENT = {UnitType.KEYFRAME: "kf_rest", UnitType.SEMANTIC: "semantic",
                   UnitType.HASH: "hash", UnitType.END_OF_SEQUENCE: "eos"}
_CELL_STREAM = re.compile(r"_qp(\d+)\.ifvc$")


def stream_split(data: bytes) -> dict[str, Any]:
    """Bytes per component of one stream, its frame count and key-frame count."""
    split = dict.fromkeys(COMPONENTS, 0)
    for unit in iter_units(data):
        size = unit.header_size + len(unit.payload)
        kind = "header" if unit.unit_type in SEQUENCE_HEADER_TYPES else \
            _UNIT_COMPONENT.get(unit.unit_type, "other")
        split[kind] += size
    last_frame, keyframes, first_key = -1, 0, None
    for parsed in StreamParser().parse(data):
        if isinstance(parsed, ParsedKeyframe):
            keyframes += 1
            first_key = parsed.frame_idx if first_key is None else first_key
            last_frame = max(last_frame, parsed.frame_idx)
            split["kf_picture"] += len(parsed.kf.kf_picture_payload)
            split["kf_geometry"] += len(parsed.kf.kf_geometry_payload)
            split["kf_rest"] -= len(parsed.kf.kf_picture_payload) + len(parsed.kf.kf_geometry_payload)
        elif isinstance(parsed, ParsedSemanticUnit):
            last_frame = max([last_frame, *(f.frame_idx for f in parsed.frames)])
    frames = last_frame + 1
    if sum(split.values()) != len(data) or frames <= 0:
        raise ValueError("the units do not add up to the stream, or it has no frames")
    semantic_frames = frames - 1 - (first_key or 0)
    return {"bytes": split, "total_bytes": len(data), "frames": frames, "keyframes": keyframes,
            "semantic_bits_per_frame": 8 * split["semantic"] / max(semantic_frames, 1)}


def kbps(split: dict[str, Any], fps: float) -> dict[str, float]:
    """kbit/s of every component and of the whole stream."""
    seconds = split["frames"] / fps
    rates = {name: 8 * size / 1000 / seconds for name, size in split["bytes"].items()}
    rates["total"] = 8 * split["total_bytes"] / 1000 / seconds
    return rates


def campaign_rows(out_dir: Path, codec: str, fps: float) -> list[dict[str, Any]]:
    """One row per rate point of a campaign codec: each component's kbit/s, the mean over
    its sequences (as the campaign averages rates), plus bytes per key frame of the geometry."""
    by_point: dict[int, list[dict[str, Any]]] = {}
    for path in sorted((out_dir / "cells" / codec).glob("*/*.ifvc")):
        match = _CELL_STREAM.search(path.name)
        if match:
            by_point.setdefault(int(match.group(1)), []).append(stream_split(path.read_bytes()))
    if not by_point:
        raise ValueError(f"no IFVC streams of codec {codec!r} under {out_dir / 'cells'}")
    rows = []
    for point, splits in sorted(by_point.items()):
        rates = [kbps(split, fps) for split in splits]
        row: dict[str, Any] = {"point": point, "sequences": len(splits)}
        row.update({name: sum(r[name] for r in rates) / len(rates) for name in (*COMPONENTS, "total")})
        row["geometry_bytes_per_keyframe"] = (sum(s["bytes"]["kf_geometry"] for s in splits)
                                              / sum(s["keyframes"] for s in splits))
        row["semantic_bits_per_frame"] = sum(s["semantic_bits_per_frame"] for s in splits) / len(splits)
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], key: str) -> str:
    names = (*COMPONENTS, "total")
    lines = [f"| {key} | " + " | ".join(names) + " | geometry B/key frame | semantic bits/frame |",
             "|---" * (len(names) + 3) + "|"]
    for row in rows:
        lines.append(f"| {row[key]} | " + " | ".join(f"{row[n]:.3f}" for n in names)
                     + f" | {row['geometry_bytes_per_keyframe']:.1f} | {row['semantic_bits_per_frame']:.2f} |")
    return "\n".join(lines)


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("streams", nargs="*", type=Path, help="IFVC streams")
    parser.add_argument("--campaign", type=Path, help="a campaign output folder (its cells/)")
    parser.add_argument("--codec", default="ifvc", help="the campaign codec (default ifvc)")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if bool(args.campaign) == bool(args.streams):
        parser.error("give either streams or --campaign")
    try:
        if args.campaign:
            rows, key = campaign_rows(args.campaign, args.codec, args.fps), "point"
        else:
            rows, key = [], "stream"
            for path in args.streams:
                split = stream_split(read_input_file(path, "stream"))
                rows.append({"stream": path.name, **kbps(split, args.fps),
                             "geometry_bytes_per_keyframe":
                                 split["bytes"]["kf_geometry"] / max(split["keyframes"], 1),
                             "semantic_bits_per_frame": split["semantic_bits_per_frame"]})
    except (BitstreamError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    print("kbit/s per component (units with their framing)")
    print(markdown(rows, key))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
