"""Study: where the geometric generators lose PSNR, and what better geometry could buy (issue 14).

    python -m tools.generator_error_budget --sequences work/sequences --work work/gen_budget \
        [--split test] [--qp 32] [--frames 100] [--out docs/results/generator_budget_<date>]

For every sequence of the split it encodes the prepared sequence once with the reference
encoder (one key frame, defaults otherwise; streams cached in --work), decodes it with
ifvc-geometric-1 (Annex E) and ifvc-geometric-2 (Annex G) and compares each frame with the
source:

1. **Error by region.** The picture of frame t is split into five regions, from what the
   decoder has: mouth and eyes (boxes around the target lips and eye rings, grown by 15 and
   30 % of their size), the rest of the face box (the target landmarks' box grown by 25 %
   on each side, as adaptive refresh measures it: hair and ears are in it), the person
   outside the face box (geometric-2's key-frame person mask or the target frame's warped
   mask) and the background (the rest). Per region and output: the PSNR inside it and its
   share of the frame's squared error. "key only" is the decoded key frame shown unchanged.
2. **Exact landmarks.** MediaPipe's landmarks of the source frame (the encoder's analysis) in
   place of the target landmarks that geometric-1 derives from the decoded semantics, warped
   by the same motion field (no mouth or eye fill, so it is compared with geometric-1's warp
   alone as well): how much PSNR a perfect semantic description of the face's geometry
   would give this warp. Also the mean landmark error (pixels) of the decoded semantics, of
   the unquantised analysed semantics and of the key frame's own landmarks.
3. **Camera motion.** A 4-parameter similarity between the source's first frame and frame t,
   fitted (LK tracks, RANSAC) on the background region eroded by 4 pixels; the decoded key
   frame warped by it, in the background region only, in place of geometric-2's static
   background where it is closer to the source there (an encoder that knows the source would
   send no motion otherwise): what a global-motion parameter per frame could give on clips
   whose camera moves.

PSNR here is that of the squared error pooled over all frames (regions need it); the
campaign's PSNR-RGB is the mean of the per-frame values, also given for the whole picture.

All three are oracles from the source: bounds for a design choice, not decoder outputs.
Writes results.md and results.json into --out.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

from .generator_compare import SPLIT_FILE, add_clip_study_arguments, coded_sequences

REGIONS = ("mouth", "eyes", "face", "person", "background")
OUTPUTS = ("ifvc-geometric-1", "ifvc-geometric-2", "key only")
MOUTH_GROW, EYE_GROW = 0.15, 0.30        # box growth, share of the part's larger side
BACKGROUND_ERODE = 9                     # kernel (pixels) that keeps the camera fit off the person's edge
MIN_TRACKS = 8


def psnr_of(sse: float, count: int) -> float:
    return float("nan") if count == 0 else (100.0 if sse == 0 else 10 * float(np.log10(255.0 ** 2 * count / sse)))


def part_box(points: np.ndarray, grow: float, size: int) -> np.ndarray:
    lo, hi = points.min(axis=0), points.max(axis=0)
    g = grow * float((hi - lo).max())
    m = np.zeros((size, size), bool)
    m[int(max(lo[1] - g, 0)):int(hi[1] + g) + 1, int(max(lo[0] - g, 0)):int(hi[0] + g) + 1] = True
    return m


def regions(landmarks: np.ndarray, person: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """The five disjoint regions of one frame (docstring item 1)."""
    from ifvc_synthesis.idi import EYE_LEFT, EYE_RIGHT, LIPS, _idx
    from ref_encoder.adaptive_refresh import face_box
    mouth = part_box(landmarks[_idx(LIPS)], MOUTH_GROW, size)
    eyes = (part_box(landmarks[_idx(EYE_LEFT["ring"])], EYE_GROW, size)
            | part_box(landmarks[_idx(EYE_RIGHT["ring"])], EYE_GROW, size)) & ~mouth
    x0, y0, x1, y1 = face_box(landmarks, size, size)
    face = np.zeros((size, size), bool)
    face[y0:y1, x0:x1] = True
    rest = face & ~mouth & ~eyes
    return {"mouth": mouth, "eyes": eyes, "face": rest, "person": person & ~face, "background": ~(person | face)}


def camera_similarity(first: np.ndarray, frame: np.ndarray, background: np.ndarray) -> np.ndarray | None:
    """2x3 similarity from frame t's coordinates to the first frame's, fitted on background
    tracks; None when fewer than MIN_TRACKS tracks survive."""
    g0, g1 = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY), cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    p0 = cv2.goodFeaturesToTrack(g0, 300, 0.01, 6, mask=background.astype(np.uint8))
    if p0 is None or len(p0) < MIN_TRACKS:
        return None
    p1, status, _ = cv2.calcOpticalFlowPyrLK(g0, g1, p0, None)
    ok = status[:, 0] == 1
    if ok.sum() < MIN_TRACKS:
        return None
    m, _ = cv2.estimateAffinePartial2D(p1[ok], p0[ok], method=cv2.RANSAC, ransacReprojThreshold=1.5)
    return m


@dataclass
class Accumulator:
    sse: float = 0.0
    count: int = 0

    def add(self, a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> None:
        d = a.astype(np.float64) - b.astype(np.float64)
        d = d * d
        self.sse += float(d[mask].sum() if mask is not None else d.sum())
        self.count += int(mask.sum()) * 3 if mask is not None else d.size

    @property
    def psnr(self) -> float:
        return psnr_of(self.sse, self.count)


def study_sequence(source: np.ndarray, data: bytes) -> dict:
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    from bitstream.geometry_payload import GP_LANDMARK_IDS
    from ref_encoder.analysis import FaceAnalyzer

    decoded, gens = {}, {}
    values: list[np.ndarray] = []
    for name in OUTPUTS[:2]:
        gen = get_generator(name)
        frames = list(Decoder(generator=gen).decode(data))
        decoded[name] = np.stack([f.rgb for f in frames])
        gens[name] = getattr(gen, "newest", gen)     # one key frame: the single-reference generator
        values = [f.values for f in frames]
    g1, g2 = gens["ifvc-geometric-1"], gens["ifvc-geometric-2"]
    key = decoded["ifvc-geometric-1"][0]
    size = key.shape[0]
    n = min(len(source), len(values))
    region_acc = {(o, r): Accumulator() for o in OUTPUTS for r in REGIONS}
    whole = {o: Accumulator() for o in OUTPUTS}
    per_frame = {o: [] for o in OUTPUTS}
    warp_dec, warp_exact, cam_bg, g2_cam = Accumulator(), Accumulator(), Accumulator(), Accumulator()
    lm_err = {"decoded semantics": [], "analysed semantics": [], "key frame": []}
    ids = np.asarray(GP_LANDMARK_IDS)
    key_person = g2.person_mask > 0
    with FaceAnalyzer() as fa:
        for t in range(n):
            tg = g2.target_geometry(values[t])
            person = key_person | (g2.person_alpha(values[t]) > 0.5)
            reg = regions(tg.landmarks, person, size)
            outs = {o: decoded[o][t] for o in OUTPUTS[:2]} | {"key only": key}
            for o, img in outs.items():
                whole[o].add(img, source[t])
                frame_acc = Accumulator()
                frame_acc.add(img, source[t])
                per_frame[o].append(frame_acc.psnr)
                for r, m in reg.items():
                    region_acc[(o, r)].add(img, source[t], m)
            # camera oracle on geometric-2's static background
            bg_fit = cv2.erode(reg["background"].astype(np.uint8), np.ones((BACKGROUND_ERODE,) * 2, np.uint8)) > 0
            sim = camera_similarity(source[0], source[t], bg_fit)
            moved = key if sim is None else cv2.warpAffine(key, sim, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                                           borderMode=cv2.BORDER_REPLICATE)
            bg = reg["background"]
            if _sse(moved, source[t], bg) > _sse(outs["ifvc-geometric-2"], source[t], bg):
                moved = outs["ifvc-geometric-2"]      # the encoder would send no motion for this frame
            cam_bg.add(moved, source[t], bg)
            g2_cam.add(np.where(bg[..., None], moved, outs["ifvc-geometric-2"]), source[t])
            # exact-landmark oracle on geometric-1's warp
            analysis = fa.analyze_frame(source[t])
            if analysis.landmarks is None:
                continue
            true = analysis.landmarks[ids, :2]
            tg1 = g1.target_geometry(values[t])
            lm_err["decoded semantics"].append(float(np.linalg.norm(tg1.landmarks - true, axis=1).mean()))
            lm_err["analysed semantics"].append(float(np.linalg.norm(
                g1.target_geometry(analysis.semantics).landmarks - true, axis=1).mean()))
            lm_err["key frame"].append(float(np.linalg.norm(g1.model.key_landmarks - true, axis=1).mean()))
            warp_dec.add(_warp(g1, tg1), source[t])
            tg1.points[:len(ids)] = true
            warp_exact.add(_warp(g1, tg1), source[t])
    share = {o: {r: 100.0 * region_acc[(o, r)].sse / whole[o].sse for r in REGIONS} for o in OUTPUTS}
    return {
        "frames": n,
        "psnr": {o: whole[o].psnr for o in OUTPUTS},
        "psnr_mean_of_frames": {o: float(np.mean(per_frame[o])) for o in OUTPUTS},
        "region_psnr": {o: {r: region_acc[(o, r)].psnr for r in REGIONS} for o in OUTPUTS},
        "error_share_percent": share,
        "area_percent": {r: 100.0 * region_acc[(OUTPUTS[0], r)].count / whole[OUTPUTS[0]].count for r in REGIONS},
        "landmark_error_px": {k: float(np.mean(v)) for k, v in lm_err.items()},
        "warp_psnr_decoded_landmarks": warp_dec.psnr,
        "warp_psnr_exact_landmarks": warp_exact.psnr,
        "background_psnr_camera_oracle": cam_bg.psnr,
        "geometric2_psnr_camera_oracle": g2_cam.psnr,
    }


def _sse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float((d * d)[mask].sum())


def _warp(gen, tg) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Geometric-1's warp of its key frame by tg's motion field, rounded (no mouth or eye fill)."""
    map_x, map_y = gen.model.motion_field(tg)
    out = cv2.remap(gen._key_float, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def report(results: dict) -> str:
    seqs = results["sequences"]
    mean = lambda f: float(np.mean([f(r) for r in seqs.values()]))   # noqa: E731
    lines = [f"# Where the geometric generators lose PSNR (key-frame QP {results['qp']}, {results['frames']} frames)", "",
             f"`{results['command']}`", "", "Means over the sequences of per-sequence values; PSNR-RGB in dB.", "",
             "## PSNR by region", "",
             "| output | whole (mean of frames) | whole | mouth | eyes | rest of face box | person outside it | background |",
             "|---|---|---|---|---|---|---|---|"]
    for o in OUTPUTS:
        cells = [f"{mean(lambda r: r['psnr_mean_of_frames'][o]):.2f}", f"{mean(lambda r: r['psnr'][o]):.2f}"] + [f"{mean(lambda r: r['region_psnr'][o][g]):.2f}" for g in REGIONS]
        lines.append(f"| {o} | " + " | ".join(cells) + " |")
    lines += ["", "## Share of the squared error (%) and of the area (%)", "",
              "| output | mouth | eyes | rest of face box | person outside it | background |", "|---|---|---|---|---|---|"]
    for o in OUTPUTS:
        lines.append(f"| {o} | " + " | ".join(f"{mean(lambda r: r['error_share_percent'][o][g]):.1f}" for g in REGIONS) + " |")
    lines.append("| area | " + " | ".join(f"{mean(lambda r: r['area_percent'][g]):.1f}" for g in REGIONS) + " |")
    lines += ["", "## Oracles (per sequence)", "",
              "| sequence | landmark error px: decoded / analysed / key | geometric-1 warp PSNR: decoded landmarks | exact landmarks "
              "| background PSNR: static / camera oracle | geometric-2 PSNR: as decoded / with camera oracle |",
              "|---|---|---|---|---|---|"]
    for name, r in seqs.items():
        e = r["landmark_error_px"]
        lines.append(f"| {name} | {e['decoded semantics']:.2f} / {e['analysed semantics']:.2f} / {e['key frame']:.2f} "
                     f"| {r['warp_psnr_decoded_landmarks']:.2f} | {r['warp_psnr_exact_landmarks']:.2f} "
                     f"| {r['region_psnr']['ifvc-geometric-2']['background']:.2f} / {r['background_psnr_camera_oracle']:.2f} "
                     f"| {r['psnr']['ifvc-geometric-2']:.2f} / {r['geometric2_psnr_camera_oracle']:.2f} |")
    e = lambda k: mean(lambda r: r["landmark_error_px"][k])   # noqa: E731
    lines.append(f"| **mean** | {e('decoded semantics'):.2f} / {e('analysed semantics'):.2f} / {e('key frame'):.2f} "
                 f"| {mean(lambda r: r['warp_psnr_decoded_landmarks']):.2f} | {mean(lambda r: r['warp_psnr_exact_landmarks']):.2f} "
                 f"| {mean(lambda r: r['region_psnr']['ifvc-geometric-2']['background']):.2f} / "
                 f"{mean(lambda r: r['background_psnr_camera_oracle']):.2f} "
                 f"| {mean(lambda r: r['psnr']['ifvc-geometric-2']):.2f} / {mean(lambda r: r['geometric2_psnr_camera_oracle']):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_clip_study_arguments(ap)
    ap.add_argument("--out", type=Path, default=Path("docs/results") / f"generator_budget_{datetime.date.today()}")
    args = ap.parse_args(argv)
    names = json.loads(SPLIT_FILE.read_text())[args.split]
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"command": "python -m tools.generator_error_budget " + " ".join(argv or sys.argv[1:]),
                     "qp": args.qp, "frames": args.frames, "sequences": {}}
    for name, seq, stream in coded_sequences(names, args.sequences, args.work, args.qp, args.frames):
        results["sequences"][name] = study_sequence(read_rgb444(seq, max_frames=args.frames), stream.read_bytes())
        print(name, json.dumps(results["sequences"][name]["psnr"]), file=sys.stderr, flush=True)
    if not results["sequences"]:
        print("no sequence of the split was found in --sequences", file=sys.stderr)
        return 1
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "results.md").write_text(report(results))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
