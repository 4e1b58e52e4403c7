"""ifvc-encode: face video in, .ifvc stream out."""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")        # MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bitstream.errors import BitstreamError  # noqa: E402
from bitstream.generator_registry import DEFAULT_GENERATOR_NAME, REGISTERED_GENERATORS  # noqa: E402
from bitstream.keyframe_vvc import ToolMissingError  # noqa: E402
from bitstream.profiles import LEVELS, PROFILE_COMPACT, PROFILE_MAIN  # noqa: E402
from bitstream.semantic_elements import ELEMENT_BY_NAME  # noqa: E402
from bitstream.semantic_groups import GROUP_NAMES  # noqa: E402
from bitstream.semantic_temporal import MAX_SEM_PERIOD  # noqa: E402
from bitstream.units import UnitType, iter_units  # noqa: E402
from ifvc_common.argtypes import float_range, fraction_range, int_range  # noqa: E402
from ifvc_common.errors import describe_os_error, fail  # noqa: E402
from ifvc_common.outputs import OutputTransaction  # noqa: E402
from ifvc_common.parser import CommandParser, command  # noqa: E402
from ifvc_common.paths import check_outputs  # noqa: E402

from .adaptive_refresh import (AUTO_CHECK_EVERY, AUTO_REFERENCE_QP, AUTO_THRESHOLD_DB,  # noqa: E402
                               AUTO_THRESHOLD_MAX_DB, AUTO_THRESHOLD_SLOPE, FAILED_BLOCK, FAILED_BLOCK_DB,
                               INVENTED_AUTO_MAX_QP, INVENTED_AUTO_PCT, REFRESH_PICTURES, TEETH_AUTO_MAX_QP,
                               resolve_check_every, resolve_failed, resolve_invented, resolve_refresh)
from .analysis import NoFaceError  # noqa: E402
from .correction_grid import CORRECTION_AUTO_MAX_QP  # noqa: E402
from .draw_ahead import DrawWorkerError  # noqa: E402
from .encoder import DEFAULT_SEMANTIC_PERIODS, EncodeResult, Encoder, EncoderConfig  # noqa: E402
from .keyframe_coding import DEFAULT_KEYFRAME_FILTERS, KEYFRAME_FILTERS, KEYFRAME_PRESETS, KeyframeCodingError  # noqa: E402
from .semantic_rdoq import (DEFAULT_LAMBDA_SCALE, DEFAULT_MAX_LEVEL_ERROR,  # noqa: E402
                           DEFAULT_MAX_LEVEL_ERROR_COMPACT, LAMBDA_MAX_QP, LAMBDA_PRESETS)
from .video_input import InputError, iter_frames, probe  # noqa: E402


PROG = "ifvc-encode"
MAX_PIC_SIZE = max(lim.max_pic_size for lim in LEVELS.values())
MAX_FRAME_RATE = max(lim.max_frame_rate for lim in LEVELS.values())
MAX_FRAMES_PER_UNIT = max(lim.max_frames_per_unit for lim in LEVELS.values())
# the encoder's thread and one worker process (draw_ahead.py); on 2 cores more workers add nothing
# (docs/results/encoder_processes_2026-12-07)
DEFAULT_THREADS = min(2, os.cpu_count() or 1)


def _precision_item(text: str) -> tuple[str, int]:
    """ELEMENT=P with P in the element's precision range (Annex B): a usage error otherwise."""
    name, _, p = text.partition("=")
    element = ELEMENT_BY_NAME.get(name)
    if element is None:
        raise argparse.ArgumentTypeError(f"unknown semantic element {name!r} in {text!r}; known: "
                                         f"{', '.join(ELEMENT_BY_NAME)}")
    try:
        return name, int_range(0, element.max_precision)(p)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"the precision of {name} {exc}") from None


def _semantic_period(text: str) -> tuple[str, int] | None:
    """GROUP=P with a group of Table 3d and P in 1..4, or off (a usage error otherwise)."""
    if text == "off":
        return None
    name, _, p = text.partition("=")
    if name not in GROUP_NAMES:
        raise argparse.ArgumentTypeError(f"unknown element group {name!r} in {text!r}; known: "
                                         f"{', '.join(GROUP_NAMES)} (or off)")
    try:
        return name, int_range(1, MAX_SEM_PERIOD)(p)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"the period of {name} {exc}") from None


def _semantic_periods(items: list[tuple[str, int] | None] | None) -> dict[str, int] | None:
    """--semantic-period items: None (not given: the encoder's default), {} (off), or the map."""
    if items is None:
        return None
    if None in items:
        return {}
    return dict(item for item in items if item is not None)


def _semantic_lambda(text: str) -> str | float:
    """off, auto or a finite number >= 0 (a usage error otherwise)."""
    if text in LAMBDA_PRESETS:
        return text
    try:
        return float_range(0)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be off, auto or a number >= 0, not {text!r}") from None


def _check_every(text: str) -> str | int:
    """--refresh-check-every: auto or 1..64."""
    try:
        resolve_check_every(text, DEFAULT_GENERATOR_NAME)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text if text == "auto" else int(text)


def _checked_by(resolve: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type: the text as given, once `resolve` accepts it (its ValueError becomes a
    one-line usage error)."""
    def check(text: str) -> str:
        try:
            resolve(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


_refresh = _checked_by(lambda text: resolve_refresh(text, 32))   # off, auto or dB (0 < T < 100)
_refresh_invented = _checked_by(resolve_invented)                # off, auto or a percentage (0 < P <= 100)
_refresh_failed = _checked_by(resolve_failed)                    # off or a percentage (0 < P <= 100)


def _log_text(result: EncodeResult) -> str:
    from bitstream.semantic_elements import ELEMENT_BY_ID, SEMANTIC_ELEMENTS
    names = [e.name for e in SEMANTIC_ELEMENTS]
    # levels: the signalled elements only, in header order (head_loc is not in the default set)
    signalled = [ELEMENT_BY_ID[i].name for i in result.writer.sh.sh_sem_element_id]
    rows = [["frame_idx", "kind", "face_found", *names, *(f"{n}_level" for n in signalled)]]
    for f in result.frames:
        rows.append([f.frame_idx, f.kind, int(f.face_found), *(f"{v:.6g}" for v in f.values), *f.levels])
    units = [["unit_index", "unit_type", "bytes", "first_frame_idx", "num_frames"]]
    for i, r in enumerate(result.writer.records):
        units.append([i, UnitType(r.unit_type).name if r.unit_type in UnitType._value2member_map_ else r.unit_type,
                      r.num_bytes, "" if r.first_frame_idx is None else r.first_frame_idx, r.num_frames])
    text = []
    for table in (rows, units):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(table)
        text.append(buf.getvalue())
    return "\n".join(text)


# The summary's rate split: unit payloads by type; "end/framing" is every unit's header (unit type
# byte and leb128 unit_payload_size), end-of-sequence and reserved units.
RATE_PARTS = (("sequence header", UnitType.SEQUENCE_HEADER), ("key frames", UnitType.KEYFRAME),
              ("semantics", UnitType.SEMANTIC), ("hash", UnitType.HASH))
# Either header form counts as "sequence header" (spec 6.2).
RATE_PART_OF_TYPE = {int(t): name for name, t in RATE_PARTS} | {
    int(UnitType.COMPACT_SEQUENCE_HEADER): "sequence header"}
PROFILE_BY_OPTION = {"main": PROFILE_MAIN, "compact": PROFILE_COMPACT}
DEFAULT_PROFILE_OPTION = "compact"


def bits_by_part(stream: bytes) -> dict[str, int]:
    """Bits of the stream per rate part (RATE_PARTS plus "end/framing"); they sum to 8 * len(stream)."""
    bits = {name: 0 for name, _ in RATE_PARTS} | {"end/framing": 0}
    names = RATE_PART_OF_TYPE
    for unit in iter_units(stream):
        payload = 8 * len(unit.payload)
        bits["end/framing"] += 8 * unit.header_size
        bits[names.get(unit.unit_type, "end/framing")] += payload
    return bits


def summary(result: EncodeResult, fps: float) -> str:
    frames = result.writer.next_frame_idx
    total = 8 * len(result.stream)
    seconds = frames / fps
    split = ", ".join(f"{name} {bits / 1000 / seconds:.3f}" for name, bits in bits_by_part(result.stream).items())
    lines = [f"{frames} frames, {len(result.stream)} bytes: {total / 1000 / seconds:.3f} kbit/s ({split})"]
    if result.no_face_frames or result.skipped_leading_frames:
        lines.append(f"frames without a face: {result.no_face_frames} carried forward, "
                     f"{result.skipped_leading_frames} leading frames skipped")
    if result.refresh is not None:
        lines.append(f"adaptive refresh: {result.refresh.checked} frames checked, "
                     f"{result.refresh.inserted} key frames inserted"
                     + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(result.refresh.inserted_by.items())) + ")"
                        if result.refresh.inserted_by else ""))
    if result.pose_fit is not None:
        f = result.pose_fit
        gain = f.gain_db / f.fitted if f.fitted else 0.0
        lines.append(f"pose fit: {f.fitted} frames searched, {f.moved} moved ({f.from_reference} from a key "
                     f"frame's pose; proxy PSNR +{gain:.2f} dB a searched frame), {f.synthesised} pictures "
                     f"drawn, {f.seconds:.1f} s")
    if result.correction is not None:
        g = result.correction
        lines.append(f"correction grid: {g.frames} frames measured, {g.coded} coded a new grid (the others held "
                     f"the previous one), {g.seconds:.1f} s")
    if result.multi_face_frames:
        lines.append(f"frames with more than one face: {result.multi_face_frames} (one face coded, Annex B.2)")
    return "\n".join(lines)


def build_parser() -> CommandParser:
    ap = CommandParser(prog=PROG, description=__doc__)
    ap.add_argument("input", help=".rgb (planar 4:4:4) or .yuv (4:2:0) 8-bit sequence, or a video file")
    ap.add_argument("-o", "--output", required=True,
                    help="the .ifvc stream to write (its folder must exist; never an input file)")
    ap.add_argument("--width", type=int_range(1, MAX_PIC_SIZE), help="width of a raw input")
    ap.add_argument("--height", type=int_range(1, MAX_PIC_SIZE), help="height of a raw input")
    ap.add_argument("--fps", type=fraction_range(0, MAX_FRAME_RATE),
                    help="frame rate, e.g. 25 or 30000/1001 (raw inputs: default 25; videos: their own)")
    ap.add_argument("--frames", type=int_range(1), help="code at most this many frames (default: all)")
    ap.add_argument("--qp", type=int_range(0, 63), default=42, help="key-frame QP (test points 22/32/42/52)")
    ap.add_argument("--keyframe-codec", choices=["vvc", "raw"], default="vvc", help="key-frame picture coding")
    ap.add_argument("--keyframe-preset", choices=["auto", *KEYFRAME_PRESETS], default="auto",
                    help="VVenC speed preset of the key frames; auto: medium (8-26 %% fewer bits than "
                         "faster at a higher PSNR, up to 1.8 s of CPU per key frame at QP 22); with "
                         "--refresh the key frames after the first fast (speed)")
    ap.add_argument("--keyframe-filters", choices=list(KEYFRAME_FILTERS), default=DEFAULT_KEYFRAME_FILTERS,
                    help="VVenC's in-loop filters for the key pictures: texture (default: no adaptive loop "
                         "filter, which smooths the texture every synthesised frame carries) or vvenc (its own)")
    ap.add_argument("--entropy", choices=["cabac", "exp-golomb"], default="cabac", help="entropy coder of the semantics")
    ap.add_argument("--frames-per-unit", type=int_range(1, MAX_FRAMES_PER_UNIT), default=8,
                    help="frames per semantic unit (1: lowest delay; the level bounds it)")
    ap.add_argument("--keyframe-period", type=int_range(0), default=0,
                    help="a key frame every N frames (0: only the first)")
    ap.add_argument("--keyframe-pose-threshold", type=float_range(0, 360), default=0.0,
                    help="new key frame when yaw/pitch/roll move this many degrees from the key frame (0: off)")
    ap.add_argument("--refresh", type=_refresh, default="off", metavar="off|auto|DB",
                    help="adaptive key-frame refresh: the encoder runs the stream's generator on its own "
                         "reconstruction and inserts a key frame where the face-region PSNR of the "
                         "synthesised frame falls below a threshold; 'off' (default) keeps today's "
                         "stream bit-exact, 'auto' sets the threshold from --qp "
                         f"({AUTO_THRESHOLD_DB:g} dB at QP {AUTO_REFERENCE_QP}, {AUTO_THRESHOLD_SLOPE:g} dB less per QP step, "
                         f"at most {AUTO_THRESHOLD_MAX_DB:g} dB), "
                         "a number sets it in dB")
    ap.add_argument("--refresh-invented", type=_refresh_invented, default="off", metavar="off|auto|PCT",
                    help="with --refresh and a generator with a person layer (ifvc-geometric-3 and later), also "
                         "insert a key frame where more than PCT %% of the synthesised picture is drawn from "
                         "beyond the key picture's edges (a camera tilt that shows the shirt below a key frame "
                         f"that ends at the neck); auto: {INVENTED_AUTO_PCT:g} %% at --qp {INVENTED_AUTO_MAX_QP} "
                         "or below, off above. A quality floor, not a rate saving: off by default "
                         "(docs/results/refresh_measures_2026-12-05, docs/results/invented_auto_2026-12-07)")
    ap.add_argument("--refresh-failed", type=_refresh_failed, default="off", metavar="off|PCT",
                    help=f"with --refresh, also insert a key frame where more than PCT %% of the synthesised "
                         f"picture is in {FAILED_BLOCK}x{FAILED_BLOCK} blocks below {FAILED_BLOCK_DB:g} dB PSNR "
                         "against the source (other content: a caption that appears, a scene cut); off by "
                         "default, as --refresh-invented")
    ap.add_argument("--refresh-teeth", choices=["off", "on", "auto"], default="off",
                    help="with --refresh and a mesh generator (ifvc-geometric-3 and later), also insert a key "
                         "frame where the source plainly shows teeth, its eyes are open and no reference that "
                         "draws the frame shows teeth (the mouth's teeth band is then the key frame's own teeth "
                         f"instead of a grey band); auto: on at --qp {TEETH_AUTO_MAX_QP} or below. A picture "
                         "option that costs rate: off by default (docs/results/teeth_refresh_2026-12-06)")
    ap.add_argument("--correction-grid", choices=["off", "on", "auto"], default="auto",
                    help="signal the correction elements (spec Table 3e, clause 8.6.2; Compact profile): a "
                         "4x4 grid of displacements, chosen from the optical flow between the source and "
                         "the picture the decoder draws, by which the decoder resamples that picture; "
                         f"auto (default): on in the Compact profile at --qp {CORRECTION_AUTO_MAX_QP} or below "
                         "(docs/results/correction_elements_2026-12-06)")
    ap.add_argument("--refresh-picture", choices=list(REFRESH_PICTURES), default="generator",
                    help="with --refresh and the correction elements, what the check judges: the generator's "
                         "picture (default), or 'shown': the picture after the correction stage (spec 8.6.2), "
                         "as the decoder shows it. 'shown' inserts fewer key frames and lowers the BD-rates a "
                         "little, but the frames that lose their refresh show content the correction cannot "
                         "move (docs/results/refresh_corrected_2026-12-06)")
    ap.add_argument("--refresh-check-every", type=_check_every, default="auto", metavar="auto|K",
                    help="with --refresh, synthesise and check every K-th frame only (speed); auto (default): "
                         "by the generator's cost (ref_encoder/adaptive_refresh.py), 1 except "
                         + ", ".join(f"{k} for {g}" for g, k in AUTO_CHECK_EVERY.items()))
    ap.add_argument("--refresh-qp-offset", type=int_range(-63, 63), default=0, metavar="D",
                    help="key frames after the first are coded at QP --qp + D (clipped to 0..63; default 0)")
    ap.add_argument("--background-motion", nargs="?", const="on", default="auto", choices=["auto", "on", "off"],
                    help="code the background's displacement (bg_tx, bg_ty, spec 1.2: a camera pan or tilt, "
                         "measured on the source): the layered generators (ifvc-geometric-2 and -3, ifvc-flow-2 "
                         "to -5) move their background by it, the others ignore it. auto (default): on with "
                         "the Compact profile and one of those generators; the flag alone means on")
    ap.add_argument("--pose-fit", action="store_true",
                    help="choose the head pose of each frame that codes it by synthesis: the pose, within "
                         "2 levels of the analysis, whose picture the decoder's references draw closest to "
                         "the source (ref_encoder/pose_fit.py; the learned generators are fitted through their "
                         "geometric pass); slower, off by default")
    ap.add_argument("--threads", type=int_range(1, 64), default=DEFAULT_THREADS, metavar="N",
                    help="the encoder's thread and N-1 worker processes that draw the decoder's pictures "
                         "for the refresh check and the correction grid, and run the pose fit, while the "
                         "encoder reads the next frames (ref_encoder/draw_ahead.py); the stream is the same "
                         "for every N; by default the cores, up to 2")
    ap.add_argument("--no-smoothing", action="store_true", help="code the raw analysis (no causal filter)")
    ap.add_argument("--semantic-precision", choices=["fine", "default", "low"], default="default",
                    help="precision preset of the semantics (Annex B.6): rate vs. fidelity")
    ap.add_argument("--precision", action="append", default=[], metavar="ELEMENT=P", type=_precision_item,
                    help="precision of an element (repeatable), e.g. mouth_open=7 (P: 0..the element's "
                         "maximum, Annex B)")
    ap.add_argument("--semantic-lambda", type=_semantic_lambda, default="auto", metavar="off|auto|LAMBDA",
                    help="rate-distortion optimised quantisation of the semantics: 'off' rounds each value "
                         "(the encoder before RDOQ, bit-exact); 'auto' (default) uses lambda = "
                         f"{DEFAULT_LAMBDA_SCALE:g} * 2^((min(QP, {LAMBDA_MAX_QP})-12)/3) from --qp; a number sets lambda "
                         "((milli-LPIPS)^2 per bit; 0 keeps the nearest levels)")
    ap.add_argument("--semantic-period", action="append", default=None, type=_semantic_period,
                    metavar="GROUP=P|off",
                    help="temporal resolution of an element group (repeatable; Compact profile, spec "
                         "7.2a): the group (head, eyes, mouth, other) is coded at every P-th frame of a "
                         "semantic unit and its last frame (P 1..4), the frames between interpolated by "
                         "the decoder; default: " + ", ".join(f"{g}={p}" for g, p in DEFAULT_SEMANTIC_PERIODS.items())
                         + " (the other groups 1); 'off': every group at every frame")
    ap.add_argument("--semantic-max-error", type=float_range(0.5, 64), default=None,
                    metavar="LEVELS", help="RDOQ never codes a level further than this from the analysed "
                                           "value, in levels of the element's precision (0.5..64, default "
                                           f"{DEFAULT_MAX_LEVEL_ERROR:g}, Compact profile "
                                           f"{DEFAULT_MAX_LEVEL_ERROR_COMPACT:g})")
    ap.add_argument("--no-hash", action="store_true", help="write no hash units")
    ap.add_argument("--generator", default=DEFAULT_GENERATOR_NAME,
                    help="generator named in the sequence header (sh_generator_name): a registered "
                         f"one ({', '.join(g.name for g in REGISTERED_GENERATORS)}), or any name with "
                         "--generator-weights")
    ap.add_argument("--generator-weights", metavar="FILE",
                    help="the generator's weights file: its SHA-256 goes into the header "
                         "(default: the registered generator's shipped weights; all zeros for none)")
    ap.add_argument("--profile", choices=sorted(PROFILE_BY_OPTION), default=DEFAULT_PROFILE_OPTION,
                    help="compact: the version 1.2 low-overhead tools (spec Annex A.4), not decodable "
                         "by 1.1 decoders; main: the version 1.1 syntax, decodable by 1.1 decoders")
    ap.add_argument("--full-header", action="store_true",
                    help="compact profile: write the full sequence header (unit type 0) instead of "
                         "the compact one (spec 7.3.8); the main profile always does")
    ap.add_argument("--log", help="write a per-frame and per-unit CSV log here")
    ap.add_argument("--quiet", action="store_true", help="no progress messages")
    return ap


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # before anything is read or written (UsageError: exit status 2)
    check_outputs([args.input, args.generator_weights], [args.output, args.log])

    try:
        precisions = dict(args.precision)
        if not args.generator or len(args.generator) > 255 or not all(0x20 <= ord(ch) <= 0x7E for ch in args.generator):
            fail("--generator must be 1..255 printable ASCII characters")
        generator_sha256: bytes | None = None      # none given: the registered generator's own
        if args.generator_weights:
            weights = Path(args.generator_weights)
            if not weights.is_file():
                fail(f"generator weights not found: {weights}")
            generator_sha256 = hashlib.sha256(weights.read_bytes()).digest()
        inp = Path(args.input)
        info = probe(inp, args.width, args.height, args.fps)
        raw = inp.suffix.lower() in (".rgb", ".yuv")
        n = min(args.frames, info.num_frames) if args.frames else info.num_frames
        cfg = EncoderConfig(keyframe_qp=args.qp, keyframe_codec=args.keyframe_codec,
                            vvc_preset=args.keyframe_preset, keyframe_filters=args.keyframe_filters,
                            entropy_coding_mode=1 if args.entropy == "cabac" else 0,
                            frames_per_unit=args.frames_per_unit, keyframe_period=args.keyframe_period,
                            keyframe_pose_threshold=args.keyframe_pose_threshold,
                            smoothing=not args.no_smoothing, precision_preset=args.semantic_precision,
                            precisions=precisions, semantic_lambda=args.semantic_lambda,
                            semantic_max_level_error=args.semantic_max_error,
                            hash_units=not args.no_hash, generator_name=args.generator,
                            generator_sha256=generator_sha256, refresh=args.refresh,
                            refresh_check_every=args.refresh_check_every,
                            refresh_invented=args.refresh_invented, refresh_failed=args.refresh_failed,
                            refresh_teeth=args.refresh_teeth, correction_grid=args.correction_grid,
                            refresh_picture=args.refresh_picture,
                            refresh_qp_offset=args.refresh_qp_offset,
                            profile_idc=PROFILE_BY_OPTION[args.profile], full_header=args.full_header,
                            semantic_periods=_semantic_periods(args.semantic_period),
                            background_motion=args.background_motion, pose_fit=args.pose_fit,
                            threads=args.threads)
        enc = Encoder(cfg, info.width, info.height, info.fps, num_frames=n if raw else 0,
                      warn=lambda msg: print(f"ifvc-encode: warning: {msg}", file=sys.stderr))

        def progress(k: int) -> None:
            if not args.quiet and (k % 25 == 0):
                print(f"\rencoded {k}{f'/{n}' if n else ''} frames", end="", file=sys.stderr, flush=True)

        result = enc.encode(iter_frames(inp, info, args.frames), progress)
        if not args.quiet:
            print("", file=sys.stderr)
        with OutputTransaction() as outputs:      # the stream and the log, both or neither
            outputs.write_bytes(args.output, result.stream)
            if args.log:
                outputs.write_text(args.log, _log_text(result))
        print(summary(result, float(info.fps)))
        return 0
    except (InputError, NoFaceError, KeyframeCodingError, BitstreamError, ToolMissingError, ValueError,
            DrawWorkerError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(describe_os_error(exc))


if __name__ == "__main__":
    sys.exit(main())
