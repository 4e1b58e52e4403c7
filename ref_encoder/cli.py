"""ifvc-encode: face video in, .ifvc stream out."""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")        # MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bitstream.errors import BitstreamError  # noqa: E402
from bitstream.keyframe_vvc import ToolMissingError  # noqa: E402
from bitstream.units import UnitType  # noqa: E402

from .analysis import NoFaceError  # noqa: E402
from .encoder import EncodeResult, Encoder, EncoderConfig  # noqa: E402
from .keyframe_coding import KeyframeCodingError  # noqa: E402
from .video_input import InputError, iter_frames, probe  # noqa: E402


def _umask_mode() -> int:
    """Mode for a new output file: what open() would give (mkstemp makes files private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fail(msg: str) -> int:
    print(f"ifvc-encode: error: {msg}", file=sys.stderr)
    return 1


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_log(path: Path, result: EncodeResult) -> None:
    from bitstream.semantic_elements import SEMANTIC_ELEMENTS
    names = [e.name for e in SEMANTIC_ELEMENTS]
    rows = [["frame_idx", "kind", "face_found", *names, *(f"{n}_level" for n in names)]]
    for f in result.frames:
        rows.append([f.frame_idx, f.kind, int(f.face_found), *(f"{v:.6g}" for v in f.values), *f.levels])
    units = [["unit_index", "unit_type", "bytes", "first_frame_idx", "num_frames"]]
    for i, r in enumerate(result.writer.records):
        units.append([i, UnitType(r.unit_type).name if r.unit_type in UnitType._value2member_map_ else r.unit_type,
                      r.num_bytes, "" if r.first_frame_idx is None else r.first_frame_idx, r.num_frames])
    text = []
    for table in (rows, units):
        import io
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(table)
        text.append(buf.getvalue())
    _write_atomic(path, "\n".join(text).encode())


def summary(result: EncodeResult, fps: float) -> str:
    frames = result.writer.next_frame_idx
    total = 8 * len(result.stream)
    by = result.bits_by_unit_type()
    seconds = frames / fps
    key = by.get(UnitType.KEYFRAME, 0)
    sem = by.get(UnitType.SEMANTIC, 0)
    other = total - key - sem
    lines = [f"{frames} frames, {len(result.stream)} bytes: {total / 1000 / seconds:.3f} kbit/s "
             f"(key frames {key / 1000 / seconds:.3f}, semantics {sem / 1000 / seconds:.3f}, "
             f"headers/hash/framing {other / 1000 / seconds:.3f})"]
    if result.no_face_frames or result.skipped_leading_frames:
        lines.append(f"frames without a face: {result.no_face_frames} carried forward, "
                     f"{result.skipped_leading_frames} leading frames skipped")
    if result.multi_face_frames:
        lines.append(f"frames with more than one face: {result.multi_face_frames} (one face coded, Annex B.2)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ifvc-encode", description=__doc__)
    ap.add_argument("input", help=".rgb (planar 4:4:4) or .yuv (4:2:0) 8-bit sequence, or a video file")
    ap.add_argument("-o", "--output", required=True, help="the .ifvc stream to write")
    ap.add_argument("--width", type=int, help="width of a raw input")
    ap.add_argument("--height", type=int, help="height of a raw input")
    ap.add_argument("--fps", type=Fraction, help="frame rate (raw inputs: default 25)")
    ap.add_argument("--frames", type=int, help="code at most this many frames")
    ap.add_argument("--qp", type=int, default=42, help="key-frame QP (test points 22/32/42/52)")
    ap.add_argument("--keyframe-codec", choices=["vvc", "raw"], default="vvc")
    ap.add_argument("--entropy", choices=["cabac", "exp-golomb"], default="cabac")
    ap.add_argument("--frames-per-unit", type=int, default=8, help="frames per semantic unit (1: lowest delay)")
    ap.add_argument("--keyframe-period", type=int, default=0, help="a key frame every N frames (0: only the first)")
    ap.add_argument("--keyframe-pose-threshold", type=float, default=0.0,
                    help="new key frame when yaw/pitch/roll move this many degrees from the key frame")
    ap.add_argument("--no-smoothing", action="store_true", help="code the raw analysis (no causal filter)")
    ap.add_argument("--semantic-precision", choices=["fine", "default", "low"], default="default",
                    help="precision preset of the semantics (Annex B.6): rate vs. fidelity")
    ap.add_argument("--precision", action="append", default=[], metavar="ELEMENT=P",
                    help="precision of an element (repeatable), e.g. mouth_open=7")
    ap.add_argument("--no-hash", action="store_true", help="write no hash units")
    ap.add_argument("--generator", default="ifvc-geometric-1",
                    help="generator named in the sequence header (sh_generator_name): a registered "
                         "one (ifvc-geometric-1, ifvc-refine-1), or any name with --generator-weights")
    ap.add_argument("--generator-weights", metavar="FILE",
                    help="the generator's weights file: its SHA-256 goes into the header "
                         "(default: the registered generator's shipped weights; all zeros for none)")
    ap.add_argument("--log", help="write a per-frame and per-unit CSV log here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    try:
        precisions = {}
        for item in args.precision:
            name, _, p = item.partition("=")
            if not p.isdigit():
                return _fail(f"--precision {item!r}: expected ELEMENT=P with an integer P")
            precisions[name] = int(p)
        if args.frames is not None and args.frames < 1:
            return _fail("--frames must be at least 1")
        if not args.generator or len(args.generator) > 255 or not all(0x20 <= ord(ch) <= 0x7E for ch in args.generator):
            return _fail("--generator must be 1..255 printable ASCII characters")
        generator_sha256: bytes | None = None      # none given: the registered generator's own
        if args.generator_weights:
            weights = Path(args.generator_weights)
            if not weights.is_file():
                return _fail(f"generator weights not found: {weights}")
            generator_sha256 = hashlib.sha256(weights.read_bytes()).digest()
        inp = Path(args.input)
        info = probe(inp, args.width, args.height, args.fps)
        raw = inp.suffix.lower() in (".rgb", ".yuv")
        n = min(args.frames, info.num_frames) if args.frames else info.num_frames
        cfg = EncoderConfig(keyframe_qp=args.qp, keyframe_codec=args.keyframe_codec,
                            entropy_coding_mode=1 if args.entropy == "cabac" else 0,
                            frames_per_unit=args.frames_per_unit, keyframe_period=args.keyframe_period,
                            keyframe_pose_threshold=args.keyframe_pose_threshold,
                            smoothing=not args.no_smoothing, precision_preset=args.semantic_precision,
                            precisions=precisions,
                            hash_units=not args.no_hash, generator_name=args.generator,
                            generator_sha256=generator_sha256)
        enc = Encoder(cfg, info.width, info.height, info.fps, num_frames=n if raw else 0,
                      warn=lambda msg: print(f"ifvc-encode: warning: {msg}", file=sys.stderr))

        def progress(k: int) -> None:
            if not args.quiet and (k % 25 == 0):
                print(f"\rencoded {k}{f'/{n}' if n else ''} frames", end="", file=sys.stderr, flush=True)

        result = enc.encode(iter_frames(inp, info, args.frames), progress)
        if not args.quiet:
            print("", file=sys.stderr)
        _write_atomic(Path(args.output), result.stream)
        if args.log:
            _write_log(Path(args.log), result)
        print(summary(result, float(info.fps)))
        return 0
    except (InputError, NoFaceError, KeyframeCodingError, BitstreamError, ToolMissingError, ValueError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))


if __name__ == "__main__":
    sys.exit(main())
