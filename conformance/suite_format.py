"""The conformance suite's file formats, shared by the stream generator (make_streams) and the
checker: the semantics MD5 of spec 7.4.6 over a levels CSV, per-frame MD5s of planar RGB
output, run-length lists of frame MD5s, and the output tolerance rule (spec Annex C.3,
spec/annex_c_conformance_suite.md)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from bitstream.generator_registry import REGISTERED_GENERATORS
from bitstream.semantic_reconstruction import semantics_md5

SUITE_NAME = "IFVC-Main-1.0"
SUITE_VERSION = 2          # 2: spec 1.1 (streams carry sh_version_minor 1)
# Output tolerance per generator (Annex C.3): every output frame's PSNR-RGB against the
# reference decoder's frame. Set from measured variation (annex_c_conformance_suite.md, C.3.2
# and C.3.3): the geometric generator gives identical bytes across runs and thread counts, so
# its floor only has to absorb other platforms' floating point (SIMD remap, libm) and
# rounding of halves. The learned generator adds its network's arithmetic (CPU kernels,
# thread counts, GPU), measured by tools/generator_numerics.py.
TOLERANCE = {"metric": "psnr_rgb", "min_db_per_frame": 40.0,
             "applies_to": "every output frame; key frames must be bit-exact"}
TOLERANCES = {g.name: TOLERANCE for g in REGISTERED_GENERATORS}


def tolerance_for(generator_name: str) -> dict:
    """The output tolerance of the stream's generator; ValueError for one without a tolerance."""
    try:
        return TOLERANCES[generator_name]
    except KeyError:
        raise ValueError(f"no output tolerance is defined for generator {generator_name!r} "
                         f"(known: {', '.join(sorted(TOLERANCES))})") from None


# Expected outcomes of a stream (description "expected.outcome").
DECODE = "decode"                          # exit 0, all checks
DECODE_SKIPPING = "decode_skipping_units"  # exit 0, reserved units skipped, all checks
HASH_MISMATCH = "decode_hash_mismatch"     # decodes; the decoder reports the mismatch (exit 2)
ERROR = "error"                            # rejected: non-zero exit (not 2), no crash
OUTCOMES = (DECODE, DECODE_SKIPPING, HASH_MISMATCH, ERROR)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def semantics_md5_hex(frames_levels: list[list[int]]) -> str:
    """Spec 7.4.6 (hu_entry_type 0) over every output frame, in FrameIdx order."""
    return semantics_md5(frames_levels).hex()


@dataclass
class LevelsTable:
    """A levels CSV as ifvc-decode --levels writes it: frame_idx, kind, one column per element."""
    header: list[str]
    frame_idx: list[int]
    kinds: list[str]
    levels: list[list[int]]


class LevelsFormatError(ValueError):
    pass


def read_levels_csv(text: str) -> LevelsTable:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][:2] != ["frame_idx", "kind"]:
        raise LevelsFormatError("the levels CSV must start with a header 'frame_idx,kind,...'")
    header, body = rows[0], [r for r in rows[1:] if r]
    width = len(header)
    idx, kinds, levels = [], [], []
    for n, row in enumerate(body, start=2):
        if len(row) != width:
            raise LevelsFormatError(f"levels CSV line {n}: {len(row)} columns, header has {width}")
        try:
            idx.append(int(row[0]))
            levels.append([int(v) for v in row[2:]])
        except ValueError:
            raise LevelsFormatError(f"levels CSV line {n}: not an integer") from None
        kinds.append(row[1])
    return LevelsTable(header, idx, kinds, levels)


def frame_md5s(data: bytes, frame_bytes: int) -> list[str]:
    """MD5 of each frame of a planar .rgb file (the last partial frame, if any, is dropped)."""
    return [md5_hex(data[i:i + frame_bytes]) for i in range(0, len(data) - frame_bytes + 1, frame_bytes)]


def rle(items: list[str]) -> list[list[object]]:
    """[[value, count], ...]: inferred frames repeat their predecessor, so runs are common."""
    out: list[list[object]] = []
    for item in items:
        if out and out[-1][0] == item:
            out[-1][1] = int(out[-1][1]) + 1  # type: ignore[call-overload]
        else:
            out.append([item, 1])
    return out


def unrle(runs: list[list[object]]) -> list[str]:
    return [str(v) for v, n in runs for _ in range(int(n))]  # type: ignore[call-overload]


def dump_json(obj: object) -> str:
    """Stable JSON text (sorted keys, fixed indentation), so regeneration is byte-identical."""
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def load_index(path: Path) -> dict:
    index = json.loads(path.read_text())
    if index.get("suite") != SUITE_NAME or not isinstance(index.get("test_vectors"), list):
        raise ValueError(f"{path} is not an {SUITE_NAME} conformance index")
    return index
