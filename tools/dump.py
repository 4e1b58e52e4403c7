"""ifvc-dump: print every unit and syntax element of an IFVC stream with its bit position
and value, like a VTM trace; --json for machines."""
from __future__ import annotations

import json
import sys

from bitstream.errors import BitstreamError
from bitstream.stream import (ParsedHash, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, StreamParser)
from bitstream.semantic_elements import ELEMENT_BY_ID
from bitstream.trace import TraceEntry
from bitstream.units import unit_name
from ifvc_common.errors import print_error
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import read_input_file

PROG = "ifvc-dump"


def _unit_summary(unit: object) -> dict[str, object]:
    if isinstance(unit, ParsedSequenceHeader):
        sh = unit.sh
        return {"elements": [ELEMENT_BY_ID[e].name if e in ELEMENT_BY_ID else f"id{e}"
                             for e in sh.sh_sem_element_id]}
    if isinstance(unit, ParsedKeyframe):
        return {"frame_idx": unit.frame_idx, "levels": unit.levels,
                "inferred_frames": [i for i, _ in unit.inferred_before]}
    if isinstance(unit, ParsedSemanticUnit):
        return {"frames": [{"frame_idx": f.frame_idx, "levels": f.levels, "skip": f.skip,
                            "inferred": f.inferred} for f in unit.frames]}
    if isinstance(unit, ParsedHash):
        return {"checks": [{"entry_type": c.entry.hu_entry_type,
                            "first_frame_idx": c.entry.hu_first_frame_idx,
                            "num_frames": c.entry.hu_num_frames_minus1 + 1,
                            "md5": c.entry.hu_md5.hex(), "matches": c.matches} for c in unit.checks]}
    return {}


def dump(data: bytes, as_json: bool, show_elements: bool, out=None) -> int:  # type: ignore[no-untyped-def]
    out = out or sys.stdout      # looked up at call time, so that redirection works
    trace: list[TraceEntry] = []
    parser = StreamParser(trace=trace)
    units: list[dict[str, object]] = []
    error = None
    try:
        for n, unit in enumerate(parser.parse(data)):
            raw = unit.raw
            record: dict[str, object] = {
                "index": n, "unit_type": raw.unit_type, "unit_name": unit_name(raw.unit_type),
                "byte_offset": raw.offset, "unit_payload_size": len(raw.payload),
                "unit_size": raw.size, **_unit_summary(unit)}
            if show_elements:
                record["syntax"] = [t.as_dict() for t in trace]
            if not as_json:
                _print_unit(record, trace if show_elements else [], out)
            trace.clear()
            units.append(record)
    except BitstreamError as exc:
        error = str(exc)
    if as_json:
        json.dump({"units": units, "total_bytes": len(data), "error": error}, out, indent=1)
        out.write("\n")
    elif error is None:
        out.write(f"# {len(units)} units, {len(data)} bytes, no error\n")
    if error is not None:
        print_error(PROG, error)
        return 1
    return 0


def _print_unit(record: dict[str, object], trace: list[TraceEntry], out) -> None:  # type: ignore[no-untyped-def]
    out.write(f"== unit {record['index']}: {record['unit_name']} (unit_type {record['unit_type']}) "
              f"at byte {record['byte_offset']}, unit_payload_size {record['unit_payload_size']}\n")
    for t in trace:
        out.write(t.format() + "\n")
    if "elements" in record:
        out.write("   sem elements: " + ", ".join(f"[{i}] {n}" for i, n in
                                                  enumerate(record["elements"])) + "\n")  # type: ignore[arg-type]
    if "checks" in record:
        for c in record["checks"]:  # type: ignore[attr-defined]
            what = "semantics" if c["entry_type"] == 0 else "key frame"
            verdict = {True: "MATCH", False: "MISMATCH", None: "(picture: checked by the decoder)"}
            out.write(f"   hash {what} frames {c['first_frame_idx']}..{c['first_frame_idx'] + c['num_frames'] - 1}: "
                      f"{verdict[c['matches']]}\n")


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    ap = CommandParser(prog=PROG, description=__doc__ + "\nIt writes to standard output only.")
    ap.add_argument("stream", help="an .ifvc stream")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--units-only", action="store_true", help="one line per unit, no elements")
    args = ap.parse_args(argv)
    data = read_input_file(args.stream, "stream")
    try:
        return dump(data, args.json, not args.units_only)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
