"""Study for issue 13 part C: geometry payload version 2 against version 1, and head_loc.

    python -m tools.geometry2_study geometry --sequences work/sequences [--frames 40] [--qps 32 42]
    python -m tools.geometry2_study head-loc --sequences work/sequences [--frames 40]
    python -m tools.geometry2_study sizes --sequences work/sequences [--key-frames 0 25 49]
    python -m tools.geometry2_study report [--out docs/results/geometry2_<date>]

geometry: for each test clip (tools/test_split.json) and key-frame QP, the reference encoder
(VVC key frame, CABAC, 8 frames per unit, defaults otherwise) codes the first --frames frames
twice: Main profile (kf_geometry_version 1) and Compact profile (kf_geometry_version 2, the
only difference in these streams); the reference decoder decodes both with ifvc-geometric-1
and ifvc-geometric-2 (generator override). Reported: the geometry payload bytes per key frame,
the landmark error of each version against the measured landmarks, and PSNR-RGB, LPIPS-Alex,
LPIPS-VGG and DISTS on every frame against the source (mean per sequence, then over
sequences), plus PSNR between the v1 and v2 outputs. Strips (source, v1, v2) of the frame
where the two outputs differ most, per clip, at the highest QP.

sizes: the geometry payload bytes of v1 and v2 on more key frames: each of --key-frames of
each clip coded as a one-frame stream at each QP (the encoder's own key-frame path: VVC, the
decoded picture analysed, reference levels, payload).

head-loc: the same streams in the Main profile (CABAC and Exp-Golomb), with and without
head_loc in the element set: the semantic-unit bits per frame, how often the decoded head_loc
differs from the one derived from the decoded head_tx/head_ty, and the decoded frames'
difference (a generator that ignored head_loc gives identical frames).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

SPLIT_FILE = Path(__file__).resolve().parent / "test_split.json"
GENERATORS = ("ifvc-geometric-1", "ifvc-geometric-2")
METRICS = ("psnr_rgb", "lpips_alex", "lpips_vgg", "dists")


def _source(seq_dir: Path, name: str, limit: int) -> np.ndarray:
    from bitstream.raw_video import iter_rgb444
    path = seq_dir / f"{name}_256x256_25_8bit_444.rgb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run python -m tools.prepare_sequences first")
    frames = []
    for k, f in enumerate(iter_rgb444(path)):
        if k >= limit:
            break
        frames.append(f)
    return np.stack(frames)


def _encode(src: np.ndarray, **cfg_kwargs: object) -> object:
    from ref_encoder.encoder import Encoder, EncoderConfig
    cfg = EncoderConfig(**cfg_kwargs)  # type: ignore[arg-type]
    return Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(list(src))


def _decode(stream: bytes, generator: str) -> list:
    from ref_decoder.decoder import Decoder
    from ifvc_synthesis.generators import get_generator
    return list(Decoder(generator=get_generator(generator)).decode(stream))


def _keyframes(stream: bytes) -> list:
    from bitstream.stream import ParsedKeyframe, StreamParser
    return [u for u in StreamParser().parse(stream) if isinstance(u, ParsedKeyframe)]


def _landmark_error(src0: np.ndarray, kf: object, sh: object) -> float:
    """Mean distance (px) between the decoded key geometry and MediaPipe's landmarks of the
    decoded key picture (what the encoder measured)."""
    from bitstream.geometry_payload import GP_LANDMARK_IDS
    from bitstream.key_geometry import decode_key_geometry
    from ref_decoder.decoder import decode_keyframe_picture
    from ref_encoder.analysis import FaceAnalyzer
    from bitstream.semantic_reconstruction import values_from_levels
    rgb, _ = decode_keyframe_picture(sh, kf.kf.kf_codec_id, kf.kf.kf_picture_payload)
    with FaceAnalyzer(tracking=False) as an:
        fa = an.analyze_frame(np.ascontiguousarray(rgb))
    values = values_from_levels(sh, kf.levels)
    geom = decode_key_geometry(kf.kf.kf_geometry_version, kf.kf.kf_geometry_payload,
                               width=256, height=256, ref_values=values)
    return float(np.linalg.norm(geom.points - fa.landmarks[list(GP_LANDMARK_IDS), :2], axis=1).mean())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def geometry_study(seq_dir: Path, names: list[str], qps: list[int], limit: int, out_dir: Path
                   ) -> dict[str, object]:
    from bitstream.stream import StreamParser
    from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
    from conformance.metrics.aggregate import frame_scores_many
    rows: list[dict[str, object]] = []
    strips: list[tuple[str, np.ndarray]] = []
    for name in names:
        src = _source(seq_dir, name, limit)
        for qp in qps:
            streams = {v: _encode(src, keyframe_qp=qp, profile_idc=p).stream
                       for v, p in (("v1", PROFILE_MAIN), ("v2", PROFILE_COMPACT))}
            row: dict[str, object] = {"sequence": name, "qp": qp, "frames": len(src)}
            for v, s in streams.items():
                parser = StreamParser()
                kfs = [u for u in parser.parse(s) if hasattr(u, "kf")]
                row[f"{v}_geometry_bytes"] = [len(k.kf.kf_geometry_payload) for k in kfs]
                row[f"{v}_geometry_version"] = [k.kf.kf_geometry_version for k in kfs]
                row[f"{v}_landmark_error_px"] = _landmark_error(src[0], kfs[0], parser.sh)
                row[f"{v}_stream_bytes"] = len(s)
            decoded = {(gen, v): np.stack([f.rgb for f in _decode(s, gen)])
                       for gen in GENERATORS for v, s in streams.items()}
            # one call: the source's network features are computed once for the four versions
            scores = frame_scores_many(src, list(decoded.values()), METRICS, batch_size=4)
            for (gen, v), sc in zip(decoded, scores):
                for m in METRICS:
                    row[f"{gen}_{v}_{m}"] = float(np.mean(sc[m]))
            for gen in GENERATORS:
                dec = {v: decoded[(gen, v)] for v in streams}
                diff = [_psnr(a, b) for a, b in zip(dec["v1"], dec["v2"])]
                row[f"{gen}_psnr_v1_vs_v2"] = float(np.mean(np.minimum(diff, 99.0)))
                row[f"{gen}_psnr_v1_vs_v2_min"] = float(np.min(diff))
                if qp == max(qps):
                    k = int(np.argmin(diff))
                    strip = np.concatenate([src[k], dec["v1"][k], dec["v2"][k]], axis=1)
                    strips.append((f"{name}_qp{qp}_{gen}_frame{k:03d}.png", strip))
            rows.append(row)
            out_dir.mkdir(parents=True, exist_ok=True)     # partial results survive an interruption
            (out_dir / "geometry.partial.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
            print(f"geometry: {name} QP {qp}: v1 {row['v1_geometry_bytes']} B, v2 "
                  f"{row['v2_geometry_bytes']} B", file=sys.stderr, flush=True)
    _write_strips(out_dir, strips)
    return {"rows": rows, "strips": [s for s, _ in strips]}


def sizes_study(seq_dir: Path, names: list[str], qps: list[int], key_frames: list[int]) -> dict[str, object]:
    from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
    from bitstream.stream import ParsedKeyframe, StreamParser
    rows: list[dict[str, object]] = []
    for name in names:
        src = _source(seq_dir, name, max(key_frames) + 1)
        for k in key_frames:
            for qp in qps:
                row: dict[str, object] = {"sequence": name, "frame": k, "qp": qp}
                for v, profile in (("v1", PROFILE_MAIN), ("v2", PROFILE_COMPACT)):
                    stream = _encode(src[k:k + 1], keyframe_qp=qp, profile_idc=profile).stream
                    kf = next(u for u in StreamParser().parse(stream) if isinstance(u, ParsedKeyframe))
                    row[f"{v}_bytes"] = len(kf.kf.kf_geometry_payload)
                    if v == "v2":
                        row["v2_steps"] = list(kf.kf.kf_geometry_payload[:1])
                rows.append(row)
                print(f"sizes: {row}", file=sys.stderr, flush=True)
    return {"rows": rows}


def head_loc_study(seq_dir: Path, names: list[str], limit: int) -> dict[str, object]:
    from bitstream.head_location import head_loc_cell
    from bitstream.units import UnitType
    from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_NAME
    rows: list[dict[str, object]] = []
    loc_id = ELEMENT_BY_NAME["head_loc"].element_id
    for name in names:
        src = _source(seq_dir, name, limit)
        row: dict[str, object] = {"sequence": name, "frames": len(src)}
        for mode, label in ((1, "cabac"), (0, "eg")):
            for with_loc in (True, False):
                ids = [i for i in BASELINE_ELEMENT_IDS if with_loc or i != loc_id]
                result = _encode(src, keyframe_qp=42, entropy_coding_mode=mode, element_ids=ids)
                sem = sum(8 * r.num_bytes for r in result.writer.records if r.unit_type == UnitType.SEMANTIC)
                key = "with" if with_loc else "without"
                row[f"{label}_{key}_bits_per_semantic_frame"] = sem / (len(src) - 1)
                if mode == 1:
                    dec = _decode(result.stream, "ifvc-geometric-1")
                    row[f"{key}_frames"] = np.stack([f.rgb for f in dec])
                    if with_loc:
                        differ = sum(int(round(f.values[loc_id])) != head_loc_cell(f.values[3], f.values[4])
                                     for f in dec)
                        row["decoded_head_loc_differs_from_derived"] = int(differ)
        a, b = row.pop("with_frames"), row.pop("without_frames")
        row["frames_identical_with_and_without"] = bool(np.array_equal(a, b))
        rows.append(row)
        print(f"head-loc: {name}: {row}", file=sys.stderr, flush=True)
    return {"rows": rows}


def _mean(rows: list[dict[str, object]], key: str) -> float:
    return float(np.mean([float(r[key]) for r in rows]))  # type: ignore[arg-type]


def report_markdown(out_dir: Path) -> str:
    """Tables of the three studies from their JSON files in out_dir (those present)."""
    lines = ["# Geometry payload version 2 and head_loc (issue 13 part C)", ""]
    sizes = out_dir / "sizes.json"
    if sizes.is_file():
        data = json.loads(sizes.read_text())
        rows = data["rows"]
        v1 = [r["v1_bytes"] for r in rows]
        v2 = [r["v2_bytes"] for r in rows]
        lines += ["## Geometry payload bytes per key frame", "", f"`{data['command']}`", "",
                  "| QP | key frames | v1 mean | v1 min..max | v2 mean | v2 min..max | v2 / v1 |", "|---|---|---|---|---|---|---|"]
        for qp in sorted({r["qp"] for r in rows}):
            a = [r["v1_bytes"] for r in rows if r["qp"] == qp]
            b = [r["v2_bytes"] for r in rows if r["qp"] == qp]
            lines.append(f"| {qp} | {len(a)} | {np.mean(a):.1f} | {min(a)}..{max(a)} | {np.mean(b):.1f} | "
                         f"{min(b)}..{max(b)} | {np.mean(b) / np.mean(a):.2f} |")
        lines += [f"| all | {len(v1)} | {np.mean(v1):.1f} | {min(v1)}..{max(v1)} | {np.mean(v2):.1f} | "
                  f"{min(v2)}..{max(v2)} | {np.mean(v2) / np.mean(v1):.2f} |", ""]
    geometry = out_dir / "geometry.json"
    if geometry.is_file():
        data = json.loads(geometry.read_text())
        rows = data["rows"]
        lines += ["## Quality through the decoder, v1 against v2", "", f"`{data['command']}`", "",
                  "Clips per QP: " + ", ".join(f"QP {qp}: {sum(r['qp'] == qp for r in rows)}"
                                               for qp in sorted({r['qp'] for r in rows}))
                  + f"; first {rows[0]['frames']} frames each; every metric on every frame against the source, "
                  "mean per sequence then over sequences. Change = v2 / v1 - 1 (lower is better for "
                  "LPIPS and DISTS).", ""]
        for gen in GENERATORS:
            changes: list[str] = []
            lines += [f"### {gen}", "",
                      "| QP | PSNR-RGB v1 | v2 | LPIPS-Alex v1 | v2 | LPIPS-VGG v1 | v2 | DISTS v1 | v2 | PSNR v1 vs v2 output (mean / min) |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for qp in sorted({r["qp"] for r in rows}):
                sel = [r for r in rows if r["qp"] == qp]
                cells = []
                for m, fmt in (("psnr_rgb", "{:.3f}"), ("lpips_alex", "{:.4f}"), ("lpips_vgg", "{:.4f}"), ("dists", "{:.4f}")):
                    cells += [fmt.format(_mean(sel, f"{gen}_v1_{m}")), fmt.format(_mean(sel, f"{gen}_v2_{m}"))]
                lines.append(f"| {qp} | " + " | ".join(cells) + f" | {_mean(sel, f'{gen}_psnr_v1_vs_v2'):.1f} / "
                             f"{min(float(r[f'{gen}_psnr_v1_vs_v2_min']) for r in sel):.1f} dB |")
                change = [f"{_mean(sel, f'{gen}_v2_{m}') / _mean(sel, f'{gen}_v1_{m}') - 1:+.2%}"
                          for m in ("lpips_alex", "lpips_vgg", "dists")]
                psnr_delta = _mean(sel, f"{gen}_v2_psnr_rgb") - _mean(sel, f"{gen}_v1_psnr_rgb")
                changes.append(f"QP {qp}: PSNR-RGB {psnr_delta:+.3f} dB, LPIPS-Alex {change[0]}, "
                               f"LPIPS-VGG {change[1]}, DISTS {change[2]}")
            lines += ["", "Change v1 -> v2: " + "; ".join(changes) + ".", ""]
        lines += ["Landmark error (mean distance of the decoded key-frame landmarks to MediaPipe's on the decoded key "
                  f"picture, first key frame): v1 {_mean(rows, 'v1_landmark_error_px'):.2f} px, "
                  f"v2 {_mean(rows, 'v2_landmark_error_px'):.2f} px.", ""]
    head = out_dir / "head_loc.json"
    if head.is_file():
        data = json.loads(head.read_text())
        rows = data["rows"]
        lines += ["## head_loc", "", f"`{data['command']}`", "",
                  "Semantic-unit bits (framing included) per semantic frame, key-frame QP 42, defaults (RDOQ auto, "
                  "8 frames per unit), with the 14 elements and without head_loc:", "",
                  "| sequence | frames | CABAC with | without | Exp-Golomb with | without | decoded head_loc != derived | frames identical |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['sequence']} | {r['frames']} | {r['cabac_with_bits_per_semantic_frame']:.2f} | "
                         f"{r['cabac_without_bits_per_semantic_frame']:.2f} | {r['eg_with_bits_per_semantic_frame']:.2f} | "
                         f"{r['eg_without_bits_per_semantic_frame']:.2f} | {r['decoded_head_loc_differs_from_derived']} | "
                         f"{r['frames_identical_with_and_without']} |")
        lines.append(f"| mean | | {_mean(rows, 'cabac_with_bits_per_semantic_frame'):.2f} | "
                     f"{_mean(rows, 'cabac_without_bits_per_semantic_frame'):.2f} | "
                     f"{_mean(rows, 'eg_with_bits_per_semantic_frame'):.2f} | "
                     f"{_mean(rows, 'eg_without_bits_per_semantic_frame'):.2f} | | |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _write_strips(out_dir: Path, strips: list[tuple[str, np.ndarray]]) -> None:
    import cv2
    out_dir.mkdir(parents=True, exist_ok=True)
    for fname, strip in strips:
        ok, png = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"cannot encode {fname}")
        (out_dir / fname).write_bytes(png.tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", choices=["geometry", "head-loc", "sizes", "report"])
    ap.add_argument("--sequences", type=Path, help="folder of prepared sequences (required but for report)")
    ap.add_argument("--frames", type=int, default=40, help="frames per clip (from the first)")
    ap.add_argument("--qps", type=int, nargs="+", default=[32, 42])
    ap.add_argument("--only", nargs="+", help="clip names (default: the test split)")
    ap.add_argument("--key-frames", type=int, nargs="+", default=[0, 25, 49], help="sizes: frames coded as key frames")
    ap.add_argument("--out", type=Path,
                    default=Path("docs/results") / f"geometry2_{datetime.date.today():%Y-%m-%d}")
    args = ap.parse_args(argv)
    names = args.only or json.loads(SPLIT_FILE.read_text())["test"]
    if args.study == "report":
        (args.out / "tables.md").write_text(report_markdown(args.out))
        print(f"wrote {args.out / 'tables.md'}", file=sys.stderr)
        return 0
    if args.sequences is None:
        ap.error("--sequences is required")
    if args.study == "geometry":
        result = geometry_study(args.sequences, names, args.qps, args.frames, args.out)
    elif args.study == "sizes":
        result = sizes_study(args.sequences, names, args.qps, args.key_frames)
    else:
        result = head_loc_study(args.sequences, names, args.frames)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.study.replace('-', '_')}.json"
    result["command"] = "python -m tools.geometry2_study " + " ".join(argv if argv is not None else sys.argv[1:])
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
