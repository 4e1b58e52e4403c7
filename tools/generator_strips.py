"""Side-by-side strips (source | one panel per generator, by default ifvc-geometric-1 and
ifvc-geometric-2) of hard cases, as PNG.

    python -m tools.generator_strips --sequences work/seq --streams work/gen2cmp [--qp 32]
        [--generators ifvc-geometric-2 ifvc-geometric-3]
        [--edit-sequences liveportrait_driving_d20 sadtalker_RD_Radio34_000] [--edit-frame 50]
        [--out docs/results/generator2_<date>]

Reads the streams tools/generator_compare.py cached (NAME_qpQP_f100.ifvc) and the prepared
sources. Picks, over the test split, the frame with the largest head turn (|yaw - key yaw|
+ |pitch - key pitch|), the widest mouth opening beyond the key frame's and the most closed
eye (smallest eye_blink value), and writes one strip for each; then, for each edit sequence
at --edit-frame, one strip per edit (head_yaw +-25, head_tx +-0.2, head_loc one cell over,
mouth_open +0.15):
there the first panel is the unedited source frame.
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

SPLIT_FILE = Path(__file__).resolve().parent / "test_split.json"
GENERATORS = ("ifvc-geometric-1", "ifvc-geometric-2")
LABEL_H = 18


def encoded_clip(work: Path, sequences: Path, name: str, generator: str, qp: int, frames: int) -> bytes:
    """The clip ``name`` (first ``frames`` frames) coded by the reference encoder with its
    defaults, naming ``generator``, at key-frame QP ``qp``; cached as
    work/GENERATOR/NAME_qpQP_fFRAMES.ifvc."""
    from fractions import Fraction

    from ref_encoder.encoder import Encoder, EncoderConfig
    path = work / generator / f"{name}_qp{qp}_f{frames}.ifvc"
    if not path.is_file():
        src = read_rgb444(sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=frames)
        cfg = EncoderConfig(keyframe_qp=qp, generator_name=generator)
        data = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(list(src)).stream
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path.read_bytes()


def decode(data: bytes, generator: str, edits: list[str] | None = None):  # type: ignore[no-untyped-def]
    from ref_decoder.decoder import Decoder
    from ref_decoder.edits import EditApplier, parse_edit
    from ifvc_synthesis.generators import get_generator
    dec = Decoder(generator=get_generator(generator), edits=EditApplier([parse_edit(e) for e in edits or []]))
    return list(dec.decode(data))


def panel(rgb: np.ndarray, label: str) -> np.ndarray:
    bar = np.full((LABEL_H, rgb.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, label, (4, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, rgb])


def write_strip(path: Path, panels: list[tuple[np.ndarray, str]]) -> None:
    gap = np.full((256 + LABEL_H, 4, 3), 255, np.uint8)
    parts = []
    for rgb, label in panels:
        parts += [panel(rgb, label), gap]
    path.parent.mkdir(parents=True, exist_ok=True)
    # the strongest PNG compression: lossless, and the repository's pictures travel to the
    # device machine with the working tree (64 MiB in all)
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(parts[:-1]), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {path}")



def write_rows(path: Path, rows: list[list[tuple[np.ndarray, str]]]) -> None:
    """Rows of labelled 256x256 panels, 4 white pixels apart, as one PNG."""
    def row(panels: list[tuple[np.ndarray, str]]) -> np.ndarray:
        parts = [panel(rgb, label) for rgb, label in panels]
        gap = np.full((parts[0].shape[0], 4, 3), 255, np.uint8)
        return np.hstack([x for p in parts for x in (p, gap)][:-1])
    rendered = [row(r) for r in rows]
    gap = np.full((4, rendered[0].shape[1], 3), 255, np.uint8)
    picture = np.vstack([x for r in rendered for x in (r, gap)][:-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {path}")


def hard_cases(decoded: dict[str, list]) -> dict[str, tuple[float, str, int]]:  # type: ignore[type-arg]
    """(score, sequence, frame) of the frame with the largest head turn (|yaw - key yaw| +
    |pitch - key pitch|), the widest mouth opening beyond the key frame's and the most closed
    eye (smallest eye_blink value) over decoded streams (sequence -> DecodedFrame list)."""
    cases: dict[str, tuple[float, str, int]] = {}
    for n, frames in decoded.items():
        key = frames[0].values
        for f in frames[1:]:
            v = f.values
            for case, score in (("head_turn", abs(v[0] - key[0]) + abs(v[1] - key[1])),
                                ("open_mouth", v[9] - key[9]),
                                ("blink", -min(v[7], v[8]))):
                if case not in cases or score > cases[case][0]:
                    cases[case] = (float(score), n, f.frame_idx)
    return cases


def study_edits(values: np.ndarray) -> list[str]:
    """The edits the strips show for a frame with these values: head_yaw +-25, head_tx +-0.2,
    head_loc one cell over (the next column, or the previous one from the last column),
    mouth_open +0.15."""
    from bitstream.head_location import head_loc_cell
    cell = head_loc_cell(float(values[3]), float(values[4]))
    loc = f"head_loc:set={cell + 1 if cell % 4 < 3 else cell - 1}"
    return ["head_yaw:offset=25", "head_yaw:offset=-25", "head_tx:offset=0.2", "head_tx:offset=-0.2", loc,
            "mouth_open:offset=0.15"]


def study_arguments(default_out: Path, default_work: str = "work/default_gen") -> argparse.Namespace:
    """The command line of a results folder's strips script: --sequences, --work (the stream
    cache of encoded_clip), --out (default: the script's folder), --qp, --frames."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--work", type=Path, default=Path(default_work))
    ap.add_argument("--out", type=Path, default=default_out)
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--frames", type=int, default=100)
    return ap.parse_args()


def source_frame(sequences: Path, name: str, i: int) -> np.ndarray:
    """Frame i of the prepared source of clip ``name``."""
    return read_rgb444(sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=i + 1)[i]


def hard_case_strips(out: Path, sequences: Path, panels: list[tuple[str, dict[str, list]]]) -> None:  # type: ignore[type-arg]
    """strip_CASE_NAME_fFRAME.png for each of hard_cases() over the first panel's decodes:
    the source, then one panel per (label, sequence -> decoded frames)."""
    for case, (_, n, i) in hard_cases(panels[0][1]).items():
        write_strip(out / f"strip_{case}_{n}_f{i:03d}.png",
                    [(source_frame(sequences, n, i), f"source {n[:22]} f{i}"),
                     *[(decoded[n][i].rgb, label) for label, decoded in panels]])


def edit_strips(out: Path, sequences: Path, name: str, i: int, values: np.ndarray,
                panels: list[tuple[str, bytes, str]]) -> None:
    """strip_edit_EDIT_NAME_fI.png for each of study_edits(values) at frame i of clip ``name``:
    the unedited source, then one panel per (label, stream, generator) decoded with the edit."""
    source = source_frame(sequences, name, i)
    for edit in study_edits(values):
        tag = edit.replace(":", "_").replace("=", "").replace("offset", "").replace("set", "")
        write_strip(out / f"strip_edit_{tag}_{name}_f{i}.png",
                    [(source, f"source (unedited) f{i}"),
                     *[(decode(data, g, [f"{edit}@{i}-{i}"])[i].rgb, f"{label} {edit}") for label, data, g in panels]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--streams", type=Path, required=True)
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--edit-sequences", nargs="+", default=["liveportrait_driving_d20", "sadtalker_RD_Radio34_000"])
    ap.add_argument("--edit-frame", type=int, default=50)
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS), help="one panel each")
    ap.add_argument("--out", type=Path, default=Path("docs/results") / f"generator2_{datetime.date.today()}")
    args = ap.parse_args(argv)
    names = json.loads(SPLIT_FILE.read_text())["test"]
    paths = {n: args.streams / f"{n}_qp{args.qp}_f{args.frames}.ifvc" for n in names}
    streams = {n: p.read_bytes() for n, p in paths.items() if p.is_file()}
    missing = sorted(set(names) - set(streams))
    if missing:
        print(f"note: no stream for {', '.join(missing)} (run tools.generator_compare first)")
    gens = list(args.generators)
    short = {g: g.replace("ifvc-geometric", "geometric").replace("ifvc-", "") for g in gens}
    decoded = {n: decode(streams[n], gens[0]) for n in streams}
    cases = hard_cases(decoded)
    for case, (score, n, idx) in cases.items():
        source = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=idx + 1)[idx]
        outs = [(decode(streams[n], g)[idx].rgb if g != gens[0] else decoded[n][idx].rgb) for g in gens]
        write_strip(args.out / f"strip_{case}_{n}_f{idx}.png",
                    [(source, f"source {n[:22]} f{idx}")] + [(o, short[g]) for o, g in zip(outs, gens)])
    i = args.edit_frame
    for n in args.edit_sequences:
        if n not in streams:
            continue
        source = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=i + 1)[i]
        for edit in study_edits(decoded[n][i].values):
            outs = [decode(streams[n], g, [f"{edit}@{i}-{i}"])[i].rgb for g in gens]
            tag = edit.replace(":", "_").replace("=", "").replace("offset", "").replace("set", "")
            write_strip(args.out / f"strip_edit_{tag}_{n}_f{i}.png",
                        [(source, f"source (unedited) f{i}")]
                        + [(o, f"{short[g].replace('geometric', 'g')} {edit}") for o, g in zip(outs, gens)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
