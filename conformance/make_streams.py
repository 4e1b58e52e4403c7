"""Builds the IFVC conformance suite (conformance/streams): every stream, its description
file and the index, deterministically.

    python -m conformance.make_streams [--out conformance/streams] [--check]

--check regenerates everything in a temporary folder and compares it byte for byte with
--out (reproducibility). Streams that need something this machine lacks are not rebuilt but
taken from the existing suite (--reuse-from, default conformance/streams) and described again:
- face_* streams need ../shared/data/faces/raw (a real clip), VVenC and the face analysis;
- vvc_* streams need ffmpeg with libvvenc (VVenC), as face_* do.
Every other stream is built from synthetic semantics and needs nothing outside the checkout.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bitstream.keyframe_vvc import ToolMissingError, decode_vvc_yuv420, find_ffmpeg
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.profiles import PROFILE_NAMES
from bitstream.structures import KEYFRAME_CODEC_VVC, SPEC_TEXT_VERSION, SequenceHeader
from bitstream.units import UnitType, iter_units
from ref_decoder.decoder import Decoder

from . import streams_compact_sem, streams_compact_temporal, streams_negative, streams_positive, streams_vvc
from .stream_kit import ENTROPY_NAMES, Built, codec_name
from .suite_format import (
    DECODE,
    DECODE_SKIPPING,
    ERROR,
    HASH_MISMATCH,
    SUITE_NAME,
    SUITE_VERSION,
    TOLERANCES,
    dump_json,
    md5_hex,
    rle,
    semantics_md5_hex,
    tolerance_for,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "conformance" / "streams"
SCRIPT = "conformance/make_streams.py"
EXIT_CODES = {DECODE: 0, DECODE_SKIPPING: 0, HASH_MISMATCH: 2, ERROR: "non-zero, not 2"}


class BuildError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------
# Building, with reuse of committed streams when a tool or ../shared is missing
# ---------------------------------------------------------------------------------------
def _have_vvenc() -> bool:
    try:
        find_ffmpeg()
        return True
    except ToolMissingError:
        return False


def build_all(reuse_from: Path, log=print) -> tuple[list[Built], list[str]]:  # type: ignore[no-untyped-def]
    """All streams, in suite order; and the names taken from reuse_from instead of rebuilt."""
    built = streams_positive.all_streams() + streams_negative.all_streams()
    built += streams_compact_sem.synthetic_streams() + streams_compact_sem.negative_streams()
    built += streams_compact_temporal.synthetic_streams() + streams_compact_temporal.negative_streams()
    reused: list[str] = []
    vvc_names = ["vvc_level10_256x256", "vvc_level20_512x512", "vvc_level30_1024x512",
                 "neg_vvc_wrong_size", "neg_vvc_bit_depth_12", "cabac_compact_header_default",
                 "eg_compact_header_default"]
    face_names = ["face_real_cabac", "face_synthetic_motion_eg", "face_geometry2_compact_cabac",
                  *streams_vvc.LEARNED_STREAMS.values(),
                  "face_real_cabac_edited", *streams_vvc.REFRESH_STREAMS, *streams_compact_sem.REAL_STREAMS]
    if _have_vvenc():
        built += (streams_vvc.picture_size_streams() + streams_vvc.wrong_format_streams()
                  + streams_vvc.compact_default_streams())
    else:
        log("VVenC (ffmpeg with libvvenc) not found: vvc_* streams are reused, not rebuilt")
        built += [_reuse(reuse_from, n) for n in vvc_names]
        reused += vvc_names
    if streams_vvc.FACE_CLIP.is_file() and _have_vvenc():
        faces = streams_vvc.face_streams()
        built += faces + [streams_positive.edited_stream(faces[0])]
        for b in built[-1:]:
            b.needs_shared, b.needs_vvenc, b.source = True, True, faces[0].source
        built += streams_vvc.refresh_streams()
        built += streams_compact_sem.real_streams()
    else:
        log(f"{streams_vvc.FACE_CLIP} not found: face_* streams are reused, not rebuilt")
        built += [_reuse(reuse_from, n) for n in face_names]
        reused += face_names
    names = [b.name for b in built]
    if len(set(names)) != len(names):
        raise BuildError("duplicate stream names")
    return built, reused


def _reuse(folder: Path, name: str) -> Built:
    stream, desc = folder / f"{name}.ifvc", folder / f"{name}.json"
    if not (stream.is_file() and desc.is_file()):
        raise BuildError(f"{name} cannot be built here and {stream} is missing")
    d = json.loads(desc.read_text())
    sh = _parsed_header(stream.read_bytes())
    e = d["expected"]
    return Built(name, stream.read_bytes(), sh, d["purpose"], d["exercises"], d["how_made"], e["outcome"],
                 e.get("error_substring"), e.get("skipped_unit_types", []), d["needs_shared"],
                 d["needs_vvenc"], d.get("source"))


def _parsed_header(data: bytes) -> SequenceHeader:
    from bitstream.stream import ParsedSequenceHeader, StreamParser
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            return unit.sh
    raise BuildError("no sequence header")


# ---------------------------------------------------------------------------------------
# Describing: the reference decoder's results, and what the stream is
# ---------------------------------------------------------------------------------------
def _keyframe_md5_output_format(sh: SequenceHeader, payload: bytes, rgb: np.ndarray) -> str:
    """Spec 7.4.6 hu_entry_type 1: the decoded picture in the output format (R, G, B planes
    for 4:4:4; the decoded Y, Cb, Cr planes themselves for 4:2:0)."""
    if sh.sh_chroma_format_idc == 3:
        return md5_hex(frame_to_rgb_planar(rgb))
    if sh.sh_keyframe_codec_id == KEYFRAME_CODEC_VVC:
        y, cb, cr = decode_vvc_yuv420(payload, sh.sh_pic_width, sh.sh_pic_height)
        return md5_hex(y.tobytes() + cb.tobytes() + cr.tobytes())
    return md5_hex(payload)


def _reference_decode(b: Built) -> dict:
    from bitstream.stream import ParsedKeyframe, StreamParser
    payloads = {u.frame_idx: u.kf.kf_picture_payload
                for u in StreamParser().parse(b.data) if isinstance(u, ParsedKeyframe)}
    dec = Decoder()
    idx, levels, md5s, keys = [], [], [], []
    for f in dec.decode(b.data):
        idx.append(f.frame_idx)
        levels.append(f.levels)
        md5s.append(md5_hex(frame_to_rgb_planar(f.rgb)))
        if f.kind == "key":
            assert dec.sh is not None
            keys.append({"frame_idx": f.frame_idx, "md5_rgb": md5s[-1],
                         "md5_output_format": _keyframe_md5_output_format(dec.sh, payloads[f.frame_idx], f.rgb)})
    if idx != list(range(idx[0], idx[0] + len(idx))):
        raise BuildError(f"{b.name}: output frames are not consecutive")
    if dec.hashes.ok == (b.outcome == HASH_MISMATCH):
        raise BuildError(f"{b.name}: hash check {'passed' if dec.hashes.ok else 'failed'} "
                         f"({dec.hashes.mismatches}), expected {b.outcome}")
    return {"frames": {"first_output_frame_idx": idx[0], "num_output_frames": len(idx),
                       "num_keyframes": len(keys)},
            "semantics_md5": semantics_md5_hex(levels), "keyframes": keys,
            "output_frame_md5_runs": rle(md5s)}


def describe(b: Built) -> dict:
    sh = b.sh
    d: dict = {
        "name": b.name, "stream": f"{b.name}.ifvc", "stream_md5": md5_hex(b.data), "size_bytes": len(b.data),
        "kind": "negative" if b.outcome in (ERROR, HASH_MISMATCH) else "positive",
        "purpose": b.purpose, "exercises": b.exercises, "how_made": b.how_made,
        "made_by": SCRIPT, "needs_shared": b.needs_shared, "needs_vvenc": b.needs_vvenc, "source": b.source,
        "profile_idc": sh.sh_profile_idc, "profile": PROFILE_NAMES.get(sh.sh_profile_idc, "undefined"),
        "sequence_header_form": "compact" if sh.compact_form else "full",
        "level_idc": sh.sh_level_idc, "version": f"{sh.sh_version_major}.{sh.sh_version_minor}",
        "picture": {"width": sh.sh_pic_width, "height": sh.sh_pic_height,
                    "chroma_format_idc": sh.sh_chroma_format_idc, "bit_depth": 8 + sh.sh_bit_depth_minus8},
        "frame_rate": f"{sh.sh_frame_rate_num}/{sh.sh_frame_rate_den}",
        "entropy_coding_mode": ENTROPY_NAMES.get(sh.sh_entropy_coding_mode, str(sh.sh_entropy_coding_mode)),
        "keyframe_codec": codec_name(sh.sh_keyframe_codec_id),
        "semantic_elements": list(sh.sh_sem_element_id), "precisions": list(sh.sh_sem_precision),
        "generator": {"name": sh.sh_generator_name, "sha256": sh.sh_generator_sha256.hex()},
        "expected": {"outcome": b.outcome, "exit_code": EXIT_CODES[b.outcome]},
    }
    if b.outcome == ERROR:
        d["expected"]["error_substring"] = b.error_substring
        d["expected"]["reference_error"] = err = streams_negative._reference_error(b.data)
        if err is None or (b.error_substring or "") not in err:
            raise BuildError(f"{b.name}: expected an error with {b.error_substring!r}, the reference "
                             f"decoder gives {err!r}")
        return d
    if b.outcome == DECODE_SKIPPING:
        present = sorted({u.unit_type for u in iter_units(b.data) if u.unit_type not in set(UnitType)})
        if present != sorted(b.skipped_unit_types):
            raise BuildError(f"{b.name}: reserved unit types {present}, declared {b.skipped_unit_types}")
        d["expected"]["skipped_unit_types"] = b.skipped_unit_types
        d["expected"]["note"] = "decode, skipping unit types " + ", ".join(map(str, b.skipped_unit_types))
    if b.outcome == HASH_MISMATCH:
        d["expected"]["error_substring"] = b.error_substring
        d["expected"]["note"] = "decode; report the hash mismatch (exit code 2 in the checker protocol)"
    d.update(_reference_decode(b))
    d["tolerance"] = tolerance_for(sh.sh_generator_name)
    return d


# ---------------------------------------------------------------------------------------
# Writing and checking
# ---------------------------------------------------------------------------------------
def write_suite(out: Path, reuse_from: Path, log=print) -> list[str]:  # type: ignore[no-untyped-def]
    built, reused = build_all(reuse_from, log)
    descs = [describe(b) for b in built]        # before touching out: reuse may read from it
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.ifvc")) + list(out.glob("*.json")):
        old.unlink()
    for b, d in zip(built, descs):
        (out / f"{b.name}.ifvc").write_bytes(b.data)
        (out / f"{b.name}.json").write_text(dump_json(d))
    index = {
        "suite": SUITE_NAME, "suite_version": SUITE_VERSION, "spec_version": SPEC_TEXT_VERSION, "codec": "IFVC",
        "description": "IFVC Main profile conformance streams (spec Annex C; "
                       "spec/annex_c_conformance_suite.md). Positive streams decode; negative "
                       "streams must be rejected (or report a hash mismatch) without a crash.",
        "made_by": SCRIPT, "tolerances": TOLERANCES,
        "test_vectors": [{"name": d["name"], "stream": d["stream"], "description": f"{d['name']}.json",
                          "stream_md5": d["stream_md5"], "size_bytes": d["size_bytes"], "kind": d["kind"],
                          "outcome": d["expected"]["outcome"], "needs_shared": d["needs_shared"],
                          "needs_vvenc": d["needs_vvenc"]} for d in descs],
    }
    (out / "index.json").write_text(dump_json(index))
    total = sum(len(b.data) for b in built)
    log(f"{len(built)} streams ({sum(d['kind'] == 'positive' for d in descs)} positive), {total} bytes "
        f"of streams in {out}" + (f"; reused: {', '.join(reused)}" if reused else ""))
    return reused


def check(out: Path, log=print) -> int:  # type: ignore[no-untyped-def]
    """Regenerates the suite in a temporary folder and compares it with out."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "streams"
        reused = write_suite(fresh, out, log)
        names = {p.name for p in fresh.iterdir()}
        have = {p.name for p in out.iterdir() if p.suffix in (".ifvc", ".json")}
        problems = [f"missing in {out}: {n}" for n in sorted(names - have)]
        problems += [f"not produced by the generator: {n}" for n in sorted(have - names)]
        for n in sorted(names & have):
            if not filecmp.cmp(fresh / n, out / n, shallow=False):
                problems.append(f"differs: {n}")
    for p in problems:
        log(p)
    note = f" ({len(reused)} reused, not rebuilt: {', '.join(reused)})" if reused else ""
    log(("reproducible: every file identical" if not problems else f"NOT reproducible: {len(problems)} problem(s)")
        + note)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m conformance.make_streams", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="suite folder (default %(default)s)")
    ap.add_argument("--reuse-from", type=Path, default=DEFAULT_OUT,
                    help="where to take streams that cannot be rebuilt here (default %(default)s)")
    ap.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare with --out")
    args = ap.parse_args(argv)
    try:
        if args.check:
            return check(args.out)
        with tempfile.TemporaryDirectory() as tmp:
            reuse = args.reuse_from
            if reuse.resolve() == args.out.resolve() and args.out.is_dir():   # out is rewritten
                shutil.copytree(args.out, Path(tmp) / "prev")
                reuse = Path(tmp) / "prev"
            write_suite(args.out, reuse)
        return 0
    except BuildError as exc:
        print(f"make_streams: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
