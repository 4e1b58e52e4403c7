"""Study: what decoder-side edits do to the background (issue 14), for the layered
generators ifvc-geometric-2 (Annex G) and ifvc-geometric-3 (Annex H).

    python -m tools.edit_background_study --sequences SEQ_DIR --work WORK [--frames 50]
        [--qp 42] [--every 4] [--generators ifvc-geometric-2 ifvc-geometric-3]
        [--strip-frame 25] [--out OUT]
    python -m tools.edit_background_study strips --before OLD_OUT --after OUT --out DIR [--clips ...] [--edits ...]

Measure (first form): every test clip (tools/test_split.json) is encoded once with the
reference encoder's defaults at --qp (--frames frames; streams cached in WORK). The stream is
decoded once unedited; then frames 1, 1 + E, 1 + 2E, ... (E = --every) are synthesised by
each generator unedited and with each edit applied to their values, exactly as the decoder
does with --edit (ref_decoder.decoder: values = EditApplier.apply(frame, values), then the
generator's synthesize). Edits: head_yaw offset +25 and -25, head_tx offset +0.2 and -0.2,
head_loc one cell over (the next column, or the previous one from the last column).

Per clip, edit and generator:
- black: pixels whose three channels are all <= 8 in the edited frame where the unedited
  frame's are not (some channel > 8), summed over the measured frames. On a dark clip this
  counts dark key-frame content (black hair, a near-black background) moved by the edit;
- holes: the same edit synthesised from the key frame lifted to 9 + round(key * 246 / 255)
  (no key-frame sample is <= 8, the derived masks and geometry are those of this picture):
  every output pixel <= 8 there is a hole, not dark content;
- outside K+E: mean absolute change (levels, mean of R, G, B) of the edited frame against
  the unedited frame over the pixels outside K and E, where
    K = the key frame's person layer, as the generator uses it: where the key alpha is 1
        (LayeredGenerator.person_layer): the derived mask of Annex G.3 for geometric-2 and
        geometric-3, that mask dilated by the 3-pixel guard for geometric-4 (Annex H.7);
    E = the edited frame's person, as the generator draws it: the pixels where the person
        layer has a nonzero weight, i.e. the warped person alpha (Annex G.5) > 0, and for
        the mesh generators also the head layer's opacity (Annex H.4 step 4) > 0;
  the mean is taken per frame, then over frames;
- outside K+E+U: the same outside the unedited frame's person U (defined as E) as well.
  U minus (K+E) is where the unedited frame shows the person and the edited frame cannot
  (the head has been moved away): that change is the edit itself, so it is reported apart;
- head moved (head_tx, head_loc): the shift (pixels) of the centre of the 478 face
  landmarks that the encoder's analysis (ref_encoder.analysis.landmarks, MediaPipe FaceMesh,
  static mode) finds in the edited frame against the unedited frame, and the shift the edit
  asks for (target geometry of IDI).
Also the unedited decode (every frame) against the source: PSNR-RGB and LPIPS-Alex.

Writes OUT/results.json, OUT/results.md and, per clip, the strip frame (--strip-frame:
source, unedited and each edit, per generator) as PNG under OUT/frames/.

Strips (second form): for each generator, clip and edit, a side-by-side PNG: source frame,
unedited decode, edited decode of --before, edited decode of --after.

    python -m tools.edit_background_study regions --stream STREAM --edit EDIT --frames 1 21 41 --out PNG

Regions (third form): where the change outside K+E comes from. One row per frame: unedited,
edited, the unedited frame with U minus (K+E) in magenta, the unedited frame with K darkened
(ifvc-geometric-2).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

from .generator_compare import coded_sequences, first_key_frame, hand_over_key

SPLIT_FILE = Path(__file__).resolve().parent / "test_split.json"
GENERATORS = ("ifvc-geometric-2", "ifvc-geometric-3")
EDITS = ("head_yaw:offset=25", "head_yaw:offset=-25", "head_tx:offset=0.2", "head_tx:offset=-0.2", "head_loc")
BLACK_LEVEL = 8            # a pixel is black when all three channels are <= this
LABEL_H = 18


def edit_for(name: str, values0: np.ndarray) -> str:
    """head_loc: one cell over from the key frame's cell (next column, or the previous one)."""
    if name != "head_loc":
        return name
    from bitstream.head_location import head_loc_cell
    cell = head_loc_cell(float(values0[3]), float(values0[4]))
    return f"head_loc:set={cell + 1 if cell % 4 < 3 else cell - 1}"


def lift(rgb: np.ndarray) -> np.ndarray:
    """The key frame with no sample <= BLACK_LEVEL: 9 + round(rgb * 246 / 255)."""
    return (9 + (rgb.astype(np.int32) * 246 + 127) // 255).astype(np.uint8)


def person_region(gen, values: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Where the generator's person layer has a nonzero weight (module docstring, E)."""
    single = gen.newest if hasattr(gen, "newest") else gen
    region = single.person_alpha(values) > 0
    if hasattr(single, "render_mesh"):
        region |= single.render_mesh(values)[1] > 0
    return region


class FaceCentre:
    """Centre of the encoder analysis' face landmarks (static mode: each picture alone)."""

    def __init__(self) -> None:
        from ref_encoder.analysis.landmarks import LandmarkDetector
        self.detector = LandmarkDetector(static_image_mode=True)

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        faces = self.detector.detect(rgb)
        return faces[0][:, :2].mean(axis=0) if faces else None


def study_clip(name: str, data: bytes, source: np.ndarray, generators: tuple[str, ...], every: int,
               strip_frame: int, frames_dir: Path, centre: FaceCentre) -> tuple[list[dict], list[dict]]:
    from conformance.metrics.aggregate import frame_scores
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    from ref_decoder.edits import EditApplier, parse_edit
    rows, quality = [], []
    payload, version, n_key, bits = first_key_frame(data)
    for g in generators:
        decoded = list(Decoder(generator=get_generator(g)).decode(data))
        unedited = np.stack([f.rgb for f in decoded])
        q = frame_scores(source[:len(unedited)], unedited, ("psnr_rgb", "lpips_alex"))
        quality.append(dict(sequence=name, generator=g, key_frames=n_key,
                            **{k: float(np.mean(v)) for k, v in q.items()}))
        values = [np.asarray(f.values) for f in decoded]
        gen = get_generator(g)
        hand_over_key(gen, decoded[0].rgb, values[0], payload, version, bits)
        key_mask = (gen.newest if hasattr(gen, "newest") else gen).person_layer.astype(bool)
        lifted = get_generator(g)
        hand_over_key(lifted, lift(decoded[0].rgb), values[0], payload, version, bits)
        frames = list(range(1, len(values), every))
        if strip_frame < len(values) and strip_frame not in frames:
            frames.append(strip_frame)
        plain = {i: gen.synthesize(values[i]) for i in frames}
        assert all(np.array_equal(plain[i], unedited[i]) for i in frames), "study synthesis differs from the decoder"
        plain_region = {i: person_region(gen, values[i]) for i in frames}
        sdir = frames_dir / name
        sdir.mkdir(parents=True, exist_ok=True)
        if strip_frame < len(values):
            for img, label in ((source[strip_frame], "source"), (plain[strip_frame], f"{g}_unedited")):
                cv2.imwrite(str(sdir / f"{label}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        for kind in EDITS:
            edit = edit_for(kind, values[0])
            applier = EditApplier([parse_edit(edit)], warn=lambda _msg: None)
            black, holes, outside, outside3, share_u, moved, asked = [], [], [], [], [], [], []
            for i in frames:
                ev = applier.apply(i, values[i])
                edited = gen.synthesize(ev)
                if i == strip_frame:
                    cv2.imwrite(str(sdir / f"{g}_{kind.replace(':', '_').replace('=', '')}.png"),
                                cv2.cvtColor(edited, cv2.COLOR_RGB2BGR))
                if i not in range(1, len(values), every):
                    continue
                u = plain[i]
                black.append(int(((edited.max(axis=2) <= BLACK_LEVEL) & (u.max(axis=2) > BLACK_LEVEL)).sum()))
                holes.append(int((lifted.synthesize(ev).max(axis=2) <= BLACK_LEVEL).sum()))
                diff = np.abs(edited.astype(np.int16) - u.astype(np.int16)).mean(axis=2)
                region = ~(key_mask | person_region(gen, ev))
                region3 = region & ~plain_region[i]
                outside.append(float(diff[region].mean()) if region.any() else 0.0)
                outside3.append(float(diff[region3].mean()) if region3.any() else 0.0)
                share_u.append(float((region & ~region3).sum() / max(int(region.sum()), 1)))
                if kind.startswith(("head_tx", "head_loc")):
                    c0, c1 = centre(u), centre(edited)
                    moved.append(float(np.hypot(*(c1 - c0))) if c0 is not None and c1 is not None else float("nan"))
                    t0 = gen.target_geometry(values[i]).landmarks.mean(axis=0)
                    t1 = gen.target_geometry(ev).landmarks.mean(axis=0)
                    asked.append(float(np.hypot(*(t1 - t0))))
            rows.append(dict(sequence=name, generator=g, edit=edit, kind=kind, frames=len(outside),
                             black=int(np.sum(black)), holes=int(np.sum(holes)), outside=float(np.mean(outside)),
                             outside_worst_frame=float(np.max(outside)), outside3=float(np.mean(outside3)),
                             u_share=float(np.mean(share_u)),
                             moved_px=float(np.nanmean(moved)) if moved else None,
                             asked_px=float(np.mean(asked)) if asked else None,
                             face_found=int(np.sum(np.isfinite(moved))) if moved else None))
            print(f"{name} {g} {edit}: black {rows[-1]['black']} holes {rows[-1]['holes']} outside K+E {rows[-1]['outside']:.2f} "
                  f"(+U {rows[-1]['outside3']:.2f})", flush=True)
    return rows, quality


def report(results: dict) -> str:
    lines = [f"# Edit background study ({results['date']})", "", "Command: `" + results["command"] + "`", "",
             "black: pixels with R, G, B <= 8 in the edited frame where the unedited frame has some channel > 8 "
             "(sum over the measured frames); holes: pixels <= 8 when the key frame is lifted to 9..255 "
             "(no dark content left: every one is a hole); outside K+E: mean |edited - unedited| (levels) outside the key "
             "frame's person layer K (where its key alpha is 1: the derived mask; for geometric-4 with its 3-pixel "
             "guard) and the edited frame's person E; outside K+E+U: also outside the unedited "
             "frame's person U; U share: the part of K+E's outside that is U; head moved: face-landmark centre "
             "shift found by the encoder's analysis (asked: by the target geometry).", ""]
    gens = sorted({r["generator"] for r in results["edits"]})
    lines += ["## Per edit (mean over clips / worst clip)", "",
              "| edit | generator | black | holes | outside K+E (levels) | worst clip | outside K+E+U | U share | head moved (asked) px |",
              "|---|---|---|---|---|---|---|---|---|"]
    for kind in EDITS:
        for g in gens:
            rs = [r for r in results["edits"] if r["generator"] == g and r["kind"] == kind]
            if not rs:
                continue
            worst = max(rs, key=lambda r: r["outside"])
            moved = [r["moved_px"] for r in rs if r["moved_px"] is not None]
            mv = (f"{np.nanmean(moved):.1f} ({np.mean([r['asked_px'] for r in rs]):.1f})" if moved else "")
            lines.append(f"| {kind} | {g} | {sum(r['black'] for r in rs)} | {sum(r['holes'] for r in rs)} | {np.mean([r['outside'] for r in rs]):.2f} | "
                         f"{worst['outside']:.2f} ({worst['sequence']}) | {np.mean([r['outside3'] for r in rs]):.2f} | "
                         f"{np.mean([r['u_share'] for r in rs]):.3f} | {mv} |")
    lines += ["", "## Per clip", "", "| clip | generator | edit | black | holes | outside K+E | outside K+E+U | U share | head moved (asked) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results["edits"]:
        mv = f"{r['moved_px']:.1f} ({r['asked_px']:.1f})" if r["moved_px"] is not None else ""
        lines.append(f"| {r['sequence']} | {r['generator']} | {r['edit']} | {r['black']} | {r['holes']} | {r['outside']:.2f} | "
                     f"{r['outside3']:.2f} | {r['u_share']:.3f} | {mv} |")
    lines += ["", "## Unedited decode against the source (every frame)", "",
              "| clip | generator | key frames | PSNR-RGB (dB) | LPIPS-Alex |", "|---|---|---|---|---|"]
    for q in results["quality"]:
        lines.append(f"| {q['sequence']} | {q['generator']} | {q['key_frames']} | {q['psnr_rgb']:.3f} | {q['lpips_alex']:.4f} |")
    for g in gens:
        qs = [q for q in results["quality"] if q["generator"] == g]
        lines.append(f"| mean | {g} | | {np.mean([q['psnr_rgb'] for q in qs]):.3f} | "
                     f"{np.mean([q['lpips_alex'] for q in qs]):.4f} |")
    return "\n".join(lines) + "\n"


def measure(args: argparse.Namespace) -> int:
    names = json.loads(SPLIT_FILE.read_text())[args.split]
    if args.sequence:
        names = [n for n in names if n in args.sequence]
    centre = FaceCentre()
    results: dict = {"date": datetime.date.today().isoformat(),
                     "command": "python -m tools.edit_background_study " + " ".join(args.argv_repro),
                     "edits": [], "quality": []}
    for name, seq, stream in coded_sequences(names, args.sequences, args.work, args.qp, args.frames):
        source = read_rgb444(seq, 256, 256, max_frames=args.frames)
        rows, quality = study_clip(name, stream.read_bytes(), source, tuple(args.generators), args.every,
                                   args.strip_frame, args.out / "frames", centre)
        results["edits"] += rows
        results["quality"] += quality
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "results.md").write_text(report(results))
    print(f"wrote {args.out / 'results.md'}")
    return 0


def _panel(rgb: np.ndarray, label: str) -> np.ndarray:
    bar = np.full((LABEL_H, rgb.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, label, (4, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, rgb])


def strips(args: argparse.Namespace) -> int:
    """Per clip and edit one PNG, one row per generator: source | unedited (after) | edited
    (before) | edited (after), from the frames two measure runs saved."""
    written = 0
    kinds = [k for k in EDITS if not args.edits or k in args.edits]
    for clip_dir in sorted((args.after / "frames").iterdir()):
        if args.clips and clip_dir.name not in args.clips:
            continue
        for kind in kinds:
            rows = []
            for g in args.generators:
                stem = f"{g}_{kind.replace(':', '_').replace('=', '')}"
                paths = [clip_dir / "source.png", clip_dir / f"{g}_unedited.png",
                         args.before / "frames" / clip_dir.name / f"{stem}.png", clip_dir / f"{stem}.png"]
                if not all(p.is_file() for p in paths):
                    continue
                short = g.replace("ifvc-", "")
                labels = [f"source ({clip_dir.name[:22]})", f"{short} unedited", f"{kind} before", f"{kind} after"]
                parts = []
                for p, label in zip(paths, labels):
                    parts += [_panel(cv2.imread(str(p)), label), np.full((256 + LABEL_H, 4, 3), 255, np.uint8)]
                rows.append(np.hstack(parts[:-1]))
            if rows:
                out = args.out / f"strip_{clip_dir.name}_{kind.replace(':', '_').replace('=', '')}.png"
                out.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(out), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
                written += 1
    print(f"wrote {written} strips into {args.out}")
    return 0


def regions(args: argparse.Namespace) -> int:
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    from ref_decoder.edits import EditApplier, parse_edit
    data = args.stream.read_bytes()
    decoded = list(Decoder(generator=get_generator(args.generator)).decode(data))
    gen = get_generator(args.generator)
    payload, version, _, bits = first_key_frame(data)
    hand_over_key(gen, decoded[0].rgb, decoded[0].values, payload, version, bits)
    key_mask = (gen.newest if hasattr(gen, "newest") else gen).person_layer > 0
    applier = EditApplier([parse_edit(args.edit)], warn=lambda _msg: None)
    rows = []
    for i in args.frames:
        v = np.asarray(decoded[i].values)
        ev = applier.apply(i, v)
        u, e = gen.synthesize(v), gen.synthesize(ev)
        region = ~(key_mask | person_region(gen, ev))
        u_part = region & person_region(gen, v)
        diff = np.abs(e.astype(np.int16) - u.astype(np.int16)).mean(axis=2)
        print(f"frame {i}: outside K+E {diff[region].mean():.2f} levels; U-(K+E) {int(u_part.sum())} px, "
              f"change there {diff[u_part].mean() if u_part.any() else 0.0:.1f}; elsewhere outside K+E "
              f"{diff[region & ~u_part].mean() if (region & ~u_part).any() else 0.0:.2f}")
        magenta, dark = u.copy(), u.copy()
        magenta[u_part] = (255, 0, 255)
        dark[key_mask] //= 2
        rows.append(np.hstack([u, e, magenta, dark]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["regions"]:
        ap = argparse.ArgumentParser(prog="edit_background_study regions")
        ap.add_argument("--stream", type=Path, required=True)
        ap.add_argument("--edit", required=True, help="one edit, e.g. head_tx:offset=0.2")
        ap.add_argument("--frames", type=int, nargs="+", default=[1, 21, 41])
        ap.add_argument("--generator", default="ifvc-geometric-2")
        ap.add_argument("--out", type=Path, required=True)
        return regions(ap.parse_args(argv[1:]))
    if argv[:1] == ["strips"]:
        ap = argparse.ArgumentParser(prog="edit_background_study strips")
        ap.add_argument("--before", type=Path, required=True, help="OUT of a measure run before the change")
        ap.add_argument("--after", type=Path, required=True, help="OUT of a measure run after the change")
        ap.add_argument("--generators", nargs="+", default=list(GENERATORS))
        ap.add_argument("--clips", nargs="*", help="only these clips")
        ap.add_argument("--edits", nargs="*", help="only these edits (as in EDITS, e.g. head_tx:offset=0.2 head_loc)")
        ap.add_argument("--out", type=Path, required=True)
        return strips(ap.parse_args(argv[1:]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True, help="prepared sequences (NAME_256x256_25_8bit_444.rgb)")
    ap.add_argument("--work", type=Path, required=True, help="stream cache")
    ap.add_argument("--split", default="test")
    ap.add_argument("--sequence", nargs="*", help="only these clips of the split")
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--every", type=int, default=4, help="measure frames 1, 1 + EVERY, ...")
    ap.add_argument("--strip-frame", type=int, default=25)
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    args.argv_repro = ["--sequences SEQ_DIR --work WORK --out OUT", f"--qp {args.qp} --frames {args.frames}",
                       f"--every {args.every} --strip-frame {args.strip_frame} --generators", *args.generators]
    return measure(args)


if __name__ == "__main__":
    raise SystemExit(main())
