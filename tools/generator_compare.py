"""Study: ifvc-geometric-3 (mesh, Annex H) and ifvc-geometric-2 (layered, Annex G) against
ifvc-geometric-1 (Annex E.4) on real clips.

    python -m tools.generator_compare --sequences work/seq --work work/gen2cmp \
        [--split test] [--qps 32 42] [--frames 100] [--generators G ...] [--out docs/results/generator2_<date>]

For every sequence of the split and key-frame QP it encodes the prepared sequence once with
the reference encoder (one key frame, defaults otherwise; streams cached in --work), decodes
the stream with each generator (the decoder's --generator override; the stream's semantics
and key frame are the same for all) and scores the output against the source: PSNR-RGB and
LPIPS-Alex on every frame, LPIPS-VGG and DISTS on every --slow-every-th frame (frames 0, N,
...). Row "ifvc-geometric-2 + selfie mask" (--selfie) is geometric-2 with the person mask of MediaPipe's
selfie segmentation of the decoded key frame instead of the derived one: what a mask sent
by the encoder would give (option (b) of Annex G.3; not in the syntax).

Edits (first QP, frames 1, 11, 21, ...): head_yaw offset +-25, head_tx offset +-0.2 and a
head_loc move by one cell. Per generator: pixels with R = G = B = 0 and near-black pixels
(all channels <= 4) that are not near-black in the unedited frame; the mean absolute change
(levels, over R, G, B) against the unedited frame outside the union of the key frame's
person mask and the edited frame's (geometric-2's derived masks, the same region for both
generators); for head_loc, how far the face centre moved (target landmarks, pixels) and
the mean change inside the person region.

Writes results.md and results.json into --out.
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bitstream.generator_registry import GENERATOR_BY_NAME
from ifvc_common.argtypes import int_range
from bitstream.raw_video import read_rgb444

SPLIT_FILE = Path(__file__).resolve().parent / "test_split.json"
GENERATORS = ("ifvc-geometric-1", "ifvc-geometric-2", "ifvc-geometric-3", "ifvc-geometric-2 + selfie mask")
PLAIN = GENERATORS[:3]          # the registered generators (decoder override); the last row is a study
EDITS = ("head_yaw:offset=25", "head_yaw:offset=-25", "head_tx:offset=0.2", "head_tx:offset=-0.2", "head_loc")
NEAR_BLACK = 4


def make_generator(label: str):  # type: ignore[no-untyped-def]
    from ifvc_synthesis.generators import get_generator
    from ifvc_synthesis.generators.layered import LayeredGenerator
    if label.endswith("+ selfie mask"):
        return LayeredGenerator(mask_source=selfie_mask)
    return get_generator(label)


_SEGMENTER = None


def selfie_mask(rgb: np.ndarray) -> np.ndarray:
    global _SEGMENTER
    if _SEGMENTER is None:
        from mediapipe.python.solutions import selfie_segmentation
        _SEGMENTER = selfie_segmentation.SelfieSegmentation(model_selection=0)
    return (_SEGMENTER.process(np.ascontiguousarray(rgb)).segmentation_mask >= 0.5).astype(np.uint8)


def encode(seq: Path, stream: Path, qp: int, frames: int) -> None:
    """The reference encoder's defaults at key-frame QP qp on the first frames of a prepared
    sequence; nothing when the stream is already there (the studies' cache)."""
    if stream.is_file():
        return
    stream.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "ref_encoder.cli", str(seq), "-o", str(stream), "--width", "256", "--height", "256",
           "--frames", str(frames), "--qp", str(qp), "--quiet"]
    subprocess.run(cmd, check=True)


def add_clip_study_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of a study at one key-frame QP over a split's clips (coded_sequences)."""
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True, help="scratch folder for the streams")
    ap.add_argument("--split", default="test", choices=["train", "validation", "test"])
    ap.add_argument("--qp", type=int_range(0, 63), default=32, help="key-frame QP")
    ap.add_argument("--frames", type=int_range(1), default=100)


def coded_sequences(names: list[str], sequences: Path, work: Path, qp: int,
                    frames: int) -> Iterator[tuple[str, Path, Path]]:
    """(name, prepared sequence, stream) of each named clip found in sequences, encoded once
    into work (encode); a clip that is not there is skipped with a message."""
    for name in names:
        seq = sequences / f"{name}_256x256_25_8bit_444.rgb"
        if not seq.is_file():
            print(f"skip {name}: {seq} not found (prepare it with tools.prepare_sequences)", file=sys.stderr)
            continue
        stream = work / f"{name}_qp{qp}_f{frames}.ifvc"
        encode(seq, stream, qp, frames)
        yield name, seq, stream


def decode(data: bytes, label: str, edits: list[str] | None = None):  # type: ignore[no-untyped-def]
    from ref_decoder.decoder import Decoder
    from ref_decoder.edits import EditApplier, parse_edit
    gen = make_generator(label)
    dec = Decoder(generator=gen, edits=EditApplier([parse_edit(e) for e in edits or []]))
    frames = [f.rgb for f in dec.decode(data)]
    return np.stack(frames), dec, gen


def scores(source: np.ndarray, decoded: np.ndarray, slow_every: int) -> dict[str, float]:
    from conformance.metrics.aggregate import frame_scores
    every = frame_scores(source, decoded, ("psnr_rgb", "lpips_alex"))
    tenth = frame_scores(source[::slow_every], decoded[::slow_every], ("lpips_vgg", "dists"))
    return {k: float(np.mean(v)) for k, v in {**every, **tenth}.items()}


def edit_for(name: str, values0: np.ndarray) -> str:
    if name != "head_loc":
        return name
    from bitstream.head_location import head_loc_cell
    cell = head_loc_cell(float(values0[3]), float(values0[4]))
    col = cell % 4
    return f"head_loc:set={cell + 1 if col < 3 else cell - 1}"


def edit_study(data: bytes, generators: tuple[str, ...] = PLAIN) -> list[dict]:
    """The edit measures on frames 1, 11, 21, ...: the stream is decoded once (key frame and
    values), then each generator synthesises those frames unedited and edited (as the
    decoder would with the edit applied to them)."""
    from ref_decoder.decoder import Decoder
    from ref_decoder.edits import EditApplier, parse_edit
    from ifvc_synthesis.generators import get_generator
    from ifvc_synthesis.generators.layered import LayeredGenerator
    ref_gen = LayeredGenerator()                    # the derived masks and target geometry
    decoded = list(Decoder(generator=ref_gen).decode(data))
    key_rgb, key_values = decoded[0].rgb, decoded[0].values
    values = [f.values for f in decoded]
    key_mask = ref_gen.person_mask.astype(bool)
    frames = range(1, len(values), 10)
    payload, version, _, bits = first_key_frame(data)
    gens = {}
    for g in generators:
        gen = get_generator(g)
        hand_over_key(gen, key_rgb, key_values, payload, version, bits)
        gens[g] = gen
    plain = {g: {i: gens[g].synthesize(values[i]) for i in frames} for g in gens}
    rows = []
    for name in EDITS:
        edit = edit_for(name, values[0])
        applier = EditApplier([parse_edit(edit)])
        for g, gen in gens.items():
            black, near, outside, outside3, inside, moved = [], [], [], [], [], []
            for i in frames:
                ev = applier.apply(i, np.asarray(values[i]))
                edited = gen.synthesize(ev)
                person_t = ref_gen.person_alpha(ev) > 0.01
                person_u = ref_gen.person_alpha(np.asarray(values[i])) > 0.01
                region = ~(key_mask | person_t)
                e, u = edited.astype(np.int16), plain[g][i].astype(np.int16)
                zero = edited.max(axis=2) == 0
                # new black: exact zeros where neither the key frame nor the unedited frame has one
                black.append(int((zero & (key_rgb.max(axis=2) > 0) & (plain[g][i].max(axis=2) > 0)).sum()))
                near.append(int(((edited.max(axis=2) <= NEAR_BLACK) & (plain[g][i].max(axis=2) > NEAR_BLACK)
                                 & (key_rgb.max(axis=2) > NEAR_BLACK)).sum()))
                diff = np.abs(e - u).mean(axis=2)
                outside.append(float(diff[region].mean()) if region.any() else 0.0)
                region3 = region & ~person_u            # also outside the unedited frame's person
                outside3.append(float(diff[region3].mean()) if region3.any() else 0.0)
                inside.append(float(diff[~region].mean()) if (~region).any() else 0.0)
                c0 = ref_gen.target_geometry(np.asarray(values[i])).landmarks.mean(axis=0)
                c1 = ref_gen.target_geometry(ev).landmarks.mean(axis=0)
                moved.append(float(np.hypot(*(c1 - c0))))
            rows.append(dict(edit=edit, generator=g, black=int(np.sum(black)), near_black=int(np.sum(near)),
                             outside=float(np.mean(outside)), outside3=float(np.mean(outside3)),
                             inside=float(np.mean(inside)),
                             centre_moved_px=float(np.mean(moved))))
    return rows


def first_key_frame(data: bytes) -> tuple[bytes, int, int, int | None]:
    """(kf_geometry_payload, kf_geometry_version, number of key frames, the first key picture's
    coded size in bits or None when it is raw: Reference.picture_bits) of the stream."""
    from bitstream.stream import ParsedKeyframe, StreamParser
    from ifvc_synthesis.generators import coded_picture_bits
    kfs = [u for u in StreamParser().parse(data) if isinstance(u, ParsedKeyframe)]
    if not kfs:
        raise ValueError("no key frame in the stream")
    kf = kfs[0].kf
    bits = coded_picture_bits(kf.kf_codec_id, kf.kf_picture_payload)
    return bytes(kf.kf_geometry_payload), int(kf.kf_geometry_version), len(kfs), bits


def hand_over_key(gen: object, rgb: np.ndarray, values: np.ndarray, payload: bytes, version: int,
                  bits: int | None) -> None:
    """The key frame handed over as the decoder does (use_references), with its coded size, so
    that a generator that reads it (ifvc-geometric-9 and -10, Annex H.12, H.13) draws what the
    decoder draws."""
    from ifvc_synthesis.generators import Reference, use_references
    use_references(gen, [Reference(0, rgb, values, payload, version, picture_bits=bits)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True, help="scratch folder for the streams")
    ap.add_argument("--split", default="test", choices=["train", "validation", "test"])
    ap.add_argument("--qps", type=int, nargs="+", default=[32, 42])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--slow-every", type=int, default=10, help="LPIPS-VGG and DISTS on every N-th frame")
    ap.add_argument("--selfie", action="store_true", help="also geometric-2 with the selfie mask")
    ap.add_argument("--generators", nargs="+", default=list(PLAIN), choices=list(GENERATOR_BY_NAME),
                    help="the registered generators to decode with (learned ones need their shipped weights)")
    ap.add_argument("--edits-only", action="store_true", help="only the edit study (first QP); writes edits.md")
    ap.add_argument("--no-edits", action="store_true", help="no edit study")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these sequences of the split only")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="threads of the metric networks (1: on a shared, loaded machine more threads "
                         "were slower, 0.4 against 3.5 s a frame for LPIPS-Alex)")
    ap.add_argument("--out", type=Path, default=Path("docs/results") / f"generator2_{datetime.date.today()}")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.torch_threads)
    names = [n for n in json.loads(SPLIT_FILE.read_text())[args.split] if not args.only or n in args.only]
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {"command": "python -m tools.generator_compare " + " ".join(argv or sys.argv[1:]),
                     "rd": [], "edits": []}
    args.out.mkdir(parents=True, exist_ok=True)
    for qp in args.qps:                      # QP outer: a run cut short still has whole QP rows
        for name in names:
            seq = args.sequences / f"{name}_256x256_25_8bit_444.rgb"
            if not seq.is_file():
                print(f"skip {name}: {seq} not found", file=sys.stderr)
                continue
            source = read_rgb444(seq, max_frames=args.frames)
            stream = args.work / f"{name}_qp{qp}_f{args.frames}.ifvc"
            encode(seq, stream, qp, args.frames)
            data = stream.read_bytes()
            kbps = len(data) * 8 / 1000 / (len(source) / 25)
            gens = tuple(args.generators) + ((GENERATORS[-1],) if args.selfie else ())
            for g in () if args.edits_only else gens:
                decoded = decode(data, g)[0]
                row = dict(seq=name, qp=qp, generator=g, kbps=kbps, **scores(source, decoded, args.slow_every))
                results["rd"].append(row)
                print(json.dumps(row), flush=True)
            if qp == args.qps[0] and not args.no_edits:
                for row in edit_study(data, tuple(args.generators)):
                    row["seq"] = name
                    results["edits"].append(row)
                    print(json.dumps(row), flush=True)
            stem = "edits" if args.edits_only else "results"
            (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1))   # partial results
            (args.out / f"{stem}.md").write_text(report(results))
    print(report(results))
    return 0


def _generators_in(rows: list[dict]) -> list[str]:
    """The generators of the rows: the table's order first, then others as they come."""
    seen = list(dict.fromkeys(r["generator"] for r in rows))
    return [g for g in GENERATORS if g in seen] + [g for g in seen if g not in GENERATORS]


def report(results: dict) -> str:
    lines = [f"# {', '.join(_generators_in(results['rd'] + results['edits']))}\n\n`{results['command']}`\n",
             "## Quality against the source (mean over the sequences of per-sequence means)\n",
             "| QP | generator | kbps | PSNR-RGB (dB) | worst sequence PSNR | LPIPS-Alex | LPIPS-VGG | DISTS |",
             "|---|---|---|---|---|---|---|---|"]
    rd = results["rd"]
    for qp in sorted({r["qp"] for r in rd}):
        for g in _generators_in(rd):
            rs = [r for r in rd if r["qp"] == qp and r["generator"] == g]
            if not rs:
                continue
            worst = min(rs, key=lambda r: r["psnr_rgb"])
            lines.append(f"| {qp} | {g} | {np.mean([r['kbps'] for r in rs]):.2f} | {np.mean([r['psnr_rgb'] for r in rs]):.2f} | "
                         f"{worst['psnr_rgb']:.2f} ({worst['seq']}) | {np.mean([r['lpips_alex'] for r in rs]):.4f} | "
                         f"{np.mean([r['lpips_vgg'] for r in rs]):.4f} | {np.mean([r['dists'] for r in rs]):.4f} |")
    lines += ["", "### Per sequence", "", "| sequence | QP | generator | PSNR-RGB | LPIPS-Alex | LPIPS-VGG | DISTS |",
              "|---|---|---|---|---|---|---|"]
    for r in rd:
        lines.append(f"| {r['seq']} | {r['qp']} | {r['generator']} | {r['psnr_rgb']:.2f} | {r['lpips_alex']:.4f} | "
                     f"{r['lpips_vgg']:.4f} | {r['dists']:.4f} |")
    lines += ["", "## Edits (frames 1, 11, 21, ...; sums of pixel counts, means of per-sequence means)", "",
              "new R=G=B=0: exact black where neither the key frame nor the unedited frame is black; "
              "new near-black: all channels <= 4 where neither is; outside K+E: the issue's region (outside "
              "the key frame's and the edited frame's person masks); outside K+E+U: also outside the "
              "unedited frame's person", "",
              "| edit | generator | new R=G=B=0 | new near-black | mean change outside K+E (levels) | "
              "outside K+E+U | inside (levels) | face centre moved (px) |", "|---|---|---|---|---|---|---|---|"]
    ed = results["edits"]
    for kind in EDITS:
        for g in _generators_in(ed):
            rs = [r for r in ed if r["generator"] == g and r["edit"].split(":")[0] == kind.split(":")[0]
                  and (kind == "head_loc" or r["edit"] == kind)]
            if not rs:
                continue
            o3 = [r.get("outside3", float("nan")) for r in rs]
            lines.append(f"| {kind} | {g} | {sum(r['black'] for r in rs)} | {sum(r['near_black'] for r in rs)} | "
                         f"{np.mean([r['outside'] for r in rs]):.2f} (max {max(r['outside'] for r in rs):.2f}) | "
                         f"{np.mean(o3):.2f} (max {max(o3):.2f}) | "
                         f"{np.mean([r['inside'] for r in rs]):.2f} | {np.mean([r['centre_moved_px'] for r in rs]):.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
