"""Study: where a campaign cell loses DISTS and LPIPS-VGG, and how much its key pictures decide (issue 14).

    python -m tools.dists_budget --campaign work/camp_cg_test --codec g7c --qp 32 \
        --oracle-qp 12 22 [--sequences work/sequences] [--clips A B ...] --out DIR

For each clip of the campaign cell (CAMPAIGN/cells/CODEC/CLIP/CLIP_CODEC_qpQP.ifvc and .rgb) it
scores the campaign's strided frames (every 10th from frame 5, as the quick config does) with
DISTS and LPIPS-VGG, and asks two questions:

1. **Which region holds the loss.** The decoded picture with one region replaced by the source
   (edges feathered by a Gaussian of REGION_FEATHER pixels, so that no new edge appears) is
   scored again; the drop is what a perfect picture of that region would buy. Regions are those
   of tools/generator_error_budget.py, from the source frame's own landmarks (MediaPipe, the
   encoder's analysis): mouth and eyes (boxes around the lips and eye rings), the rest of the
   face box (landmarks' box grown by 25 % on each side, as adaptive refresh measures it: hair
   and ears are in it) and everything outside the face box (neck, body, background). The drops
   do not add up to the whole loss: DISTS and LPIPS are not sums over pixels.
2. **How much the key pictures decide.** The stream is rewritten with each key picture replaced
   by the source frame at that index coded by the encoder's own VVC intra coding
   (ref_encoder.keyframe_coding.encode_vvc_intra, preset medium) at each --oracle-qp; every
   level of the stream is kept (a self-check decodes them again and compares). The decoder
   then synthesises every other frame from those key pictures: the score says what the same
   semantics, grid and generator give with a better (or worse) key picture. The key pictures'
   own DISTS is reported beside the synthesised frames' (key frames are excluded from the
   synthesised mean).
3. **How the loss grows with the distance from the key frame** (--per-frame): DISTS of every
   decoded frame, averaged by the number of frames since the newest key frame (DRIFT_BINS).

Everything is an oracle from the source: a bound for a design choice, not a decoder output.
Writes results.md and results.json into --out. Exit 2 with a one-line error when a cell or a
sequence is missing.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bitstream.errors import BitstreamError
from bitstream.raw_video import read_rgb444
from bitstream.stream import (ParsedEndOfSequence, ParsedHash, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, StreamParser, StreamWriter)
from conformance.campaign.cells import strided_indices

from .generator_error_budget import regions

REGION_FEATHER = 1.5      # sigma (pixels) of the blend between the source and the decoded picture
STRIDE = 10               # the quick config's vgg_stride
METRICS = ("dists", "lpips_vgg")
DRIFT_BINS = ((0, 0), (1, 9), (10, 29), (30, 59), (60, 10 ** 9))   # frames since the newest key frame
REGION_NAMES = {"mouth": "mouth", "eyes": "eyes", "face": "face box (rest)", "background": "outside the face box"}


def region_masks(landmarks: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """The four disjoint regions of one frame (docstring item 1) from its landmark subset
    (GP_LANDMARK_IDS order), as bool HxW masks."""
    reg = regions(landmarks, np.zeros((size, size), bool), size)
    return {k: reg[k] for k in REGION_NAMES}


def with_source_region(decoded: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """decoded with the region mask showing source, the edge feathered (uint8 HxWx3)."""
    a = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), REGION_FEATHER)[..., None]
    out = a * source.astype(np.float32) + (1.0 - a) * decoded.astype(np.float32)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def replace_key_pictures(data: bytes, picture_for: Callable[[int], bytes]) -> tuple[bytes, list[int]]:
    """The stream with each key-frame unit's picture replaced by picture_for(frame_idx) (a VVC
    payload), every level, extension and grouping kept, hash units recomputed (the new key
    pictures' MD5s); returns (stream, key frame indices)."""
    from ref_decoder.decoder import decode_keyframe_picture
    writer: StreamWriter | None = None
    sh = None
    md5: dict[int, bytes] = {}
    keys: list[int] = []
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
            writer = StreamWriter(sh)
        elif isinstance(unit, ParsedKeyframe):
            assert writer is not None and sh is not None
            kf = unit.kf
            payload = picture_for(unit.frame_idx)
            md5[unit.frame_idx] = decode_keyframe_picture(sh, kf.kf_codec_id, payload)[1]
            keys.append(unit.frame_idx)
            writer.keyframe(payload, kf.kf_ref_sem_level, codec_id=kf.kf_codec_id,
                            geometry_version=kf.kf_geometry_version, geometry_payload=kf.kf_geometry_payload,
                            frame_idx_delta=kf.kf_frame_idx_delta, extension_data=kf.kf_extension_data)
        elif isinstance(unit, ParsedSemanticUnit):
            assert writer is not None
            writer.semantic_unit([f.levels for f in unit.frames if not f.inferred],
                                 frame_idx_delta=unit.su.su_frame_idx_delta, extension_data=unit.su.su_extension_data)
        elif isinstance(unit, ParsedHash):
            assert writer is not None
            first = {c.entry.hu_first_frame_idx for c in unit.checks if c.matches is None}
            writer.hash_unit(keyframe_md5={i: md5[i] for i in first})
        elif isinstance(unit, ParsedEndOfSequence):
            assert writer is not None
            writer.end_of_sequence()
    if writer is None:
        raise ValueError("no sequence header")
    return writer.getvalue(), keys


def _decode(data: bytes) -> tuple[np.ndarray, list[list[int]], list[str]]:
    from ref_decoder.decoder import Decoder
    frames = list(Decoder().decode(data))
    return np.stack([f.rgb for f in frames]), [list(f.levels) for f in frames], [f.kind for f in frames]


def parsed_levels(data: bytes) -> tuple[list[list[int]], list[str]]:
    """Every frame's levels and kind ("key", "semantic" or "inferred") in frame order, from the
    parser alone (spec 8.3): what the decoder reports, without synthesising a picture."""
    levels: list[list[int]] = []
    kinds: list[str] = []
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedKeyframe):
            for _, lv in unit.inferred_before:
                levels.append(list(lv))
                kinds.append("inferred")
            levels.append(list(unit.levels))
            kinds.append("key")
        elif isinstance(unit, ParsedSemanticUnit):
            for f in unit.frames:
                levels.append(list(f.levels))
                kinds.append("inferred" if f.inferred else "semantic")
    return levels, kinds


def frames_since_key(kinds: list[str]) -> np.ndarray:
    """Per frame, the number of frames since the newest key frame (0 on a key frame)."""
    out, last = np.zeros(len(kinds), np.int64), 0
    for t, kind in enumerate(kinds):
        last = t if kind == "key" else last
        out[t] = t - last
    return out


def drift_profile(scores: np.ndarray, since: np.ndarray) -> dict[str, float]:
    """Mean score per DRIFT_BINS bin of frames since the newest key frame (bins without frames
    left out)."""
    out = {}
    for lo, hi in DRIFT_BINS:
        sel = (since >= lo) & (since <= hi)
        if sel.any():
            out[f"{lo}-{hi}" if hi < 10 ** 9 else f"{lo}+"] = float(np.mean(scores[sel]))
    return out


def study_clip(source: np.ndarray, decoded: np.ndarray, data: bytes, oracle_qps: list[int],
               per_frame: bool = False) -> dict:
    """Items 1 to 3 of the docstring for one clip (source and decoded: N x H x W x 3 uint8)."""
    from bitstream.geometry_payload import GP_LANDMARK_IDS
    from conformance.metrics.aggregate import frame_scores_many
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.keyframe_coding import encode_vvc_intra

    n = min(len(source), len(decoded))
    idx = strided_indices(n, STRIDE)
    size = source.shape[1]
    ids = np.asarray(GP_LANDMARK_IDS)
    versions: dict[str, list[np.ndarray]] = {"decoded": [decoded[t] for t in idx]}
    versions |= {name: [] for name in REGION_NAMES}
    with FaceAnalyzer() as fa:
        for t in idx:
            lm = fa.analyze_frame(source[t]).landmarks
            masks = region_masks(lm[ids, :2], size) if lm is not None else None
            for name in REGION_NAMES:
                versions[name].append(decoded[t] if masks is None else with_source_region(decoded[t], source[t], masks[name]))
    levels, kinds = parsed_levels(data)     # the decoded pictures are the campaign's .rgb
    for qp in oracle_qps:
        stream, keys = replace_key_pictures(data, lambda i, qp=qp: encode_vvc_intra(source[i], qp).payload)
        pictures, new_levels, _ = _decode(stream)
        if new_levels != levels:
            raise RuntimeError("the rewritten stream does not keep the levels")
        versions[f"key pictures at QP {qp}"] = [pictures[t] for t in idx]
    names = list(versions)
    scores = frame_scores_many(source[idx], [np.stack(versions[k]) for k in names], METRICS)
    synthesised = np.array([kinds[t] != "key" for t in idx])
    key_idx = [t for t in range(n) if kinds[t] == "key"]
    key_scores = frame_scores_many(source[key_idx], [decoded[key_idx]], ["dists"])[0]["dists"]
    out = {"frames": idx, "key_frames": key_idx, "key_picture_dists": float(np.mean(key_scores)),
           "scores": {}, "synthesised_scores": {}}
    for name, sc in zip(names, scores):
        out["scores"][name] = {m: float(np.mean(sc[m])) for m in METRICS}
        out["synthesised_scores"][name] = {m: float(np.mean(sc[m][synthesised])) if synthesised.any() else float("nan")
                                           for m in METRICS}
    if per_frame:
        every = frame_scores_many(source[:n], [decoded[:n]], ["dists"])[0]["dists"]
        out["drift_dists"] = drift_profile(np.asarray(every), frames_since_key(kinds[:n]))
    return out


def _table(results: dict[str, dict], oracle_qps: list[int], qp: int) -> list[str]:
    clips = list(results)
    lines = [f"Mean over {len(clips)} clips at key-frame QP {qp} (the campaign's strided frames):", "",
             "| picture | DISTS | LPIPS-VGG |", "|---|---|---|"]
    rows = ["decoded"] + list(REGION_NAMES) + [f"key pictures at QP {q}" for q in oracle_qps]
    for r in rows:
        d = np.mean([results[c]["scores"][r]["dists"] for c in clips])
        v = np.mean([results[c]["scores"][r]["lpips_vgg"] for c in clips])
        label = r if r not in REGION_NAMES else f"{REGION_NAMES[r]} from the source"
        lines.append(f"| {label} | {d:.4f} | {v:.4f} |")
    lines += ["", "Per clip, DISTS (synthesised frames only; the key pictures' own DISTS beside):", "",
              "| clip | key pictures | decoded | " + " | ".join(f"key QP {q}" for q in oracle_qps) + " |",
              "|---|---|---|" + "---|" * len(oracle_qps)]
    for c in clips:
        s = results[c]["synthesised_scores"]
        cells = " | ".join(f"{s[f'key pictures at QP {q}']['dists']:.4f}" for q in oracle_qps)
        lines.append(f"| {c} ({len(results[c]['key_frames'])} key) | {results[c]['key_picture_dists']:.4f} | "
                     f"{s['decoded']['dists']:.4f} | {cells} |")
    if all("drift_dists" in results[c] for c in clips):
        bins = [f"{lo}-{hi}" if hi < 10 ** 9 else f"{lo}+" for lo, hi in DRIFT_BINS]
        lines += ["", "DISTS of every decoded frame by frames since the newest key frame:", "",
                  "| clip | " + " | ".join(bins) + " |", "|---|" + "---|" * len(bins)]
        for c in clips:
            d = results[c]["drift_dists"]
            lines.append(f"| {c} | " + " | ".join(f"{d[b]:.4f}" if b in d else "" for b in bins) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", required=True, type=Path)
    ap.add_argument("--codec", required=True)
    ap.add_argument("--qp", required=True, type=int)
    ap.add_argument("--oracle-qp", nargs="*", type=int, default=[12, 22], help="key-picture QPs of item 2")
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--clips", nargs="*", help="default: every clip of the cell")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--per-frame", action="store_true", help="item 3: DISTS of every frame by distance from the key frame")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    cell_dir = args.campaign / "cells" / args.codec
    clips = args.clips or (sorted(p.name for p in cell_dir.iterdir() if p.is_dir()) if cell_dir.is_dir() else [])
    if not clips:
        print(f"dists_budget: no cells under {cell_dir}", file=sys.stderr)
        return 2
    if any(not 0 <= q <= 63 for q in args.oracle_qp):
        print("dists_budget: --oracle-qp takes QPs 0..63", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    provenance: dict[str, str] = {}
    for clip in clips:
        stem = cell_dir / clip / f"{clip}_{args.codec}_qp{args.qp}"
        src_path = args.sequences / f"{clip}_256x256_25_8bit_444.rgb"
        for p in (stem.with_suffix(".ifvc"), stem.with_suffix(".rgb"), src_path):
            if not p.is_file():
                print(f"dists_budget: {p} is missing", file=sys.stderr)
                return 2
        data = stem.with_suffix(".ifvc").read_bytes()
        provenance[clip] = hashlib.sha256(data).hexdigest()
        source = read_rgb444(src_path, 256, 256, args.frames)
        decoded = read_rgb444(stem.with_suffix(".rgb"), 256, 256, args.frames)
        try:
            results[clip] = study_clip(source, decoded, data, args.oracle_qp, args.per_frame)
        except BitstreamError as e:
            print(f"dists_budget: {stem.with_suffix('.ifvc')}: {e}", file=sys.stderr)
            return 2
        d = results[clip]["synthesised_scores"]["decoded"]["dists"]
        print(f"{clip}: DISTS {d:.4f} on synthesised frames", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m tools.dists_budget " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {"date": datetime.date.today().isoformat(), "command": command, "stream_sha256": provenance}
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "clips": results}, indent=1))
    (args.out / "results.md").write_text("\n".join(_table(results, args.oracle_qp, args.qp)) + "\n")
    print("\n".join(_table(results, args.oracle_qp, args.qp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
