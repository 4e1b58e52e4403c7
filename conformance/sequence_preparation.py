"""Prepare IFVC test sequences from real talking-face clips (FOMM/VoxCeleb-style face crops).

    ifvc-prepare-sequences --raw ../shared/data/faces/raw --out work/sequences [--only NAME ...]

(the command is tools/prepare_sequences.py; conformance/streams_vvc.py prepares its real-clip
streams with prepare_clip too)

For every clip:
1. Decode (cv2.VideoCapture) and resample to 25 fps by timestamps: output frame k (time
   k/25 s) shows the source frame i = floor(k * fps_src / 25 + 0.5) whose nominal time
   i / fps_src is nearest; source frames are dropped (fps_src > 25) or repeated
   (fps_src < 25). Output stops at the clip's end or after --max-frames frames.
2. Find the face in every output frame with MediaPipe FaceMesh (tracking, max_num_faces=2).
   The main face is the largest in the first frame, then the one nearest the previous main
   face. Frames with a second face, frames with no face and tracking jumps are counted and
   reported as warnings.
3. Choose ONE square crop for the clip: centred on the union of the main face's boxes
   (landmark extremes), shifted up by 10 % of the face size to keep hair and chin, side
   max(1.75 x median face size, 1.15 x union extent), moved inside the frame and limited
   to the frame's short side (reported when that limit cuts the margin).
4. Resize to 256x256 (cv2.INTER_AREA when shrinking, INTER_CUBIC when enlarging) and write
   <name>_256x256_25_8bit_444.rgb (planar R, G, B), <name>_256x256_25_8bit_420.yuv (BT.709
   limited range, see bitstream/raw_video.py) and <name>_contact.png.
The manifest (manifest.json and manifest.csv in --out) records, per clip, the source file
and SHA-256, crop box, source fps, frame counts, output SHA-256s, frames with no face and
warnings. A clip whose manifest entry, parameters and output hashes all match is skipped.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ifvc_common.outputs import OutputTransaction
from ifvc_common.files import sha256_file
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.raw_video import rgb_frame_to_yuv420_bytes

TOOL_VERSION = 2  # 2: .yuv written with the integer conversion of bitstream/picture_format.py
OUT_SIZE = 256
OUT_FPS = 25
FACE_SCALE = 1.75      # crop side over the median face size (FOMM-like framing with hair and chin)
UNION_MARGIN = 1.15    # crop side over the extent of the union of face boxes (head motion)
UP_SHIFT = 0.10        # shift the centre up by this fraction of the face size (mesh box ends at the brow line)
JUMP_THRESHOLD = 0.35  # a face-centre step above this fraction of the face size counts as a tracking jump


class PrepareError(Exception):
    """A user-facing error (bad path, unreadable clip)."""


@dataclass
class SequenceEntry:
    name: str
    source_file: str
    source_sha256: str
    source_width: int
    source_height: int
    source_fps: float
    source_frames: int
    frames: int
    crop_box: list[int]            # x0, y0, side in source pixels
    no_face_frames: int
    second_face_frames: int
    tracking_jumps: int
    face_outside_crop_frames: int
    median_face_size_px: float
    params: dict
    outputs: dict[str, str] = field(default_factory=dict)   # file name -> SHA-256
    warnings: list[str] = field(default_factory=list)


def output_names(name: str) -> dict[str, str]:
    return {"rgb": f"{name}_{OUT_SIZE}x{OUT_SIZE}_{OUT_FPS}_8bit_444.rgb",
            "yuv": f"{name}_{OUT_SIZE}x{OUT_SIZE}_{OUT_FPS}_8bit_420.yuv",
            "png": f"{name}_contact.png"}


def probe(path: Path) -> tuple[float, int, int]:
    import cv2
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise PrepareError(f"cannot open video {path}")
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if not (fps > 0 and w > 0 and h > 0):
        raise PrepareError(f"{path}: no usable video stream (fps {fps}, size {w}x{h})")
    return fps, w, h


def source_index(k: int, fps_src: float) -> int:
    """Source frame shown by output frame k: nearest nominal timestamp, ties to the later frame."""
    return int(np.floor(k * fps_src / OUT_FPS + 0.5))


def resampled_frames(path: Path, fps_src: float, max_frames: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (output index k, RGB frame) at 25 fps by nearest nominal timestamp."""
    import cv2
    cap = cv2.VideoCapture(str(path))
    k, i = 0, 0
    try:
        while k < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = None
            while k < max_frames and source_index(k, fps_src) == i:
                if rgb is None:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                yield k, rgb
                k += 1
            i += 1
    finally:
        cap.release()


def face_box(pts: np.ndarray) -> np.ndarray:
    """x0, y0, x1, y1 of the landmark extremes."""
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class TrackResult:
    boxes: list[np.ndarray | None]
    second_face_frames: int
    source_frames_seen: int


def track_faces(path: Path, fps_src: float, max_frames: int, progress: str) -> TrackResult:
    from ref_encoder.analysis.landmarks import LandmarkDetector
    boxes: list[np.ndarray | None] = []
    second = 0
    prev: np.ndarray | None = None
    with LandmarkDetector(static_image_mode=False, max_num_faces=2) as det:
        for k, rgb in resampled_frames(path, fps_src, max_frames):
            found = [face_box(p) for p in det.detect(rgb)]
            main = None
            if found:
                if prev is None:
                    main = max(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
                else:
                    pc = (prev[:2] + prev[2:]) / 2
                    main = min(found, key=lambda b: float(np.hypot(*((b[:2] + b[2:]) / 2 - pc))))
                others = [b for b in found if b is not main and box_iou(b, main) < 0.3]
                second += bool(others)
                prev = main
            boxes.append(main)
            if k % 50 == 0:
                print(f"\r{progress} tracking frame {k}", end="", file=sys.stderr, flush=True)
    print(f"\r{progress} tracked {len(boxes)} frames   ", file=sys.stderr, flush=True)
    return TrackResult(boxes, second, len(boxes))


def choose_crop(boxes: list[np.ndarray], width: int, height: int) -> tuple[int, int, int, float, float]:
    """One square crop (x0, y0, side) for the clip; also the wanted side and median face size."""
    b = np.array(boxes)
    face = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    ux0, uy0, ux1, uy1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    wanted = max(FACE_SCALE * face, UNION_MARGIN * max(ux1 - ux0, uy1 - uy0))
    side = int(round(min(wanted, width, height)))
    cx, cy = (ux0 + ux1) / 2, (uy0 + uy1) / 2 - UP_SHIFT * face
    x0 = int(round(np.clip(cx - side / 2, 0, width - side)))
    y0 = int(round(np.clip(cy - side / 2, 0, height - side)))
    return x0, y0, side, float(wanted), face


def contact_sheet(thumbs: list[tuple[int, np.ndarray]]) -> np.ndarray:
    import cv2
    cols, size = 4, 128
    rows = (len(thumbs) + cols - 1) // cols
    sheet = np.full((rows * size, cols * size, 3), 255, np.uint8)
    for n, (k, img) in enumerate(thumbs):
        t = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        cv2.putText(t, str(k), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        r, c = divmod(n, cols)
        sheet[r * size:(r + 1) * size, c * size:(c + 1) * size] = t
    return sheet


def write_outputs(path: Path, out_dir: Path, name: str, fps_src: float, max_frames: int,
                  crop: tuple[int, int, int], n_frames: int) -> dict[str, str]:
    """Crop, resize and write the three outputs through temporary names; returns their hashes."""
    import cv2
    x0, y0, side = crop
    names = output_names(name)
    final = {key: out_dir / fn for key, fn in names.items()}
    interp = cv2.INTER_AREA if side >= OUT_SIZE else cv2.INTER_CUBIC
    sheet_at = set(np.linspace(0, n_frames - 1, 8).round().astype(int).tolist())
    thumbs: list[tuple[int, np.ndarray]] = []
    with OutputTransaction() as outputs:        # the three files, or none
        tmp = {key: outputs.reserve(p) for key, p in final.items()}    # same suffix: cv2 picks PNG
        with open(tmp["rgb"], "wb") as frgb, open(tmp["yuv"], "wb") as fyuv:
            for k, rgb in resampled_frames(path, fps_src, max_frames):
                img = cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (OUT_SIZE, OUT_SIZE), interpolation=interp)
                frgb.write(frame_to_rgb_planar(img))
                fyuv.write(rgb_frame_to_yuv420_bytes(img))
                if k in sheet_at:
                    thumbs.append((k, img))
        if not cv2.imwrite(str(tmp["png"]), cv2.cvtColor(contact_sheet(thumbs), cv2.COLOR_RGB2BGR)):
            raise PrepareError(f"cannot write {tmp['png']}")
        hashes = {names[key]: sha256_file(tmp[key]) for key in names}
    return hashes


def prepare_clip(path: Path, out_dir: Path, max_frames: int, progress: str, source_sha: str) -> SequenceEntry:
    name = path.stem
    fps_src, w, h = probe(path)
    track = track_faces(path, fps_src, max_frames, progress)
    n = len(track.boxes)
    if n == 0:
        raise PrepareError(f"{path}: no frames could be decoded")
    found = [b for b in track.boxes if b is not None]
    if not found:
        raise PrepareError(f"{path}: no face found in any of {n} frames")
    x0, y0, side, wanted, face = choose_crop(found, w, h)
    warnings: list[str] = []
    no_face = n - len(found)
    if no_face:
        warnings.append(f"no face in {no_face} of {n} frames (lost tracking)")
    if track.second_face_frames:
        warnings.append(f"a second face in {track.second_face_frames} of {n} frames")
    centres = np.array([(b[:2] + b[2:]) / 2 for b in found])
    jumps = int(np.sum(np.hypot(*np.diff(centres, axis=0).T) > JUMP_THRESHOLD * face)) if len(found) > 1 else 0
    if jumps:
        warnings.append(f"{jumps} tracking jumps (face centre moved > {JUMP_THRESHOLD} face sizes in one frame)")
    tol = 0.02 * side
    outside = sum(1 for b in found if b[0] < x0 - tol or b[1] < y0 - tol
                  or b[2] > x0 + side + tol or b[3] > y0 + side + tol)
    if outside:
        warnings.append(f"face extends outside the crop in {outside} frames")
    if wanted > side * 1.05:
        warnings.append(f"crop limited by the frame: wanted {wanted:.0f} px, got {side} px (tight source framing)")
    if side < OUT_SIZE:
        warnings.append(f"crop {side} px is enlarged to {OUT_SIZE} px")
    if n < max_frames and n < 100:
        warnings.append(f"short clip: {n} frames")
    outputs = write_outputs(path, out_dir, name, fps_src, max_frames, (x0, y0, side), n)
    return SequenceEntry(
        name=name, source_file=path.name, source_sha256=source_sha, source_width=w, source_height=h,
        source_fps=round(fps_src, 4), source_frames=track.source_frames_seen, frames=n,
        crop_box=[x0, y0, side], no_face_frames=no_face, second_face_frames=track.second_face_frames,
        tracking_jumps=jumps, face_outside_crop_frames=outside, median_face_size_px=round(face, 1),
        params=run_params(max_frames), outputs=outputs, warnings=warnings)


def run_params(max_frames: int) -> dict:
    return {"tool_version": TOOL_VERSION, "max_frames": max_frames, "size": OUT_SIZE, "fps": OUT_FPS,
            "face_scale": FACE_SCALE, "union_margin": UNION_MARGIN, "up_shift": UP_SHIFT}


def load_manifest(out_dir: Path) -> dict[str, dict]:
    path = out_dir / "manifest.json"
    if not path.is_file():
        return {}
    try:
        return {e["name"]: e for e in json.loads(path.read_text())["sequences"]}
    except (ValueError, KeyError, TypeError):
        print(f"warning: ignoring unreadable manifest {path}", file=sys.stderr)
        return {}


def is_up_to_date(entry: dict | None, source_sha: str, max_frames: int, out_dir: Path) -> bool:
    if not entry or entry.get("source_sha256") != source_sha or entry.get("params") != run_params(max_frames):
        return False
    outputs = entry.get("outputs") or {}
    return len(outputs) == 3 and all((out_dir / fn).is_file() and sha256_file(out_dir / fn) == digest
                                     for fn, digest in outputs.items())


def save_manifest(out_dir: Path, entries: dict[str, dict]) -> None:
    ordered = [entries[k] for k in sorted(entries)]
    doc = {"description": "IFVC test sequences prepared by tools/prepare_sequences.py", "sequences": ordered}
    cols = ["name", "source_file", "source_sha256", "source_fps", "source_frames", "frames", "crop_box",
            "no_face_frames", "second_face_frames", "tracking_jumps", "face_outside_crop_frames", "warnings"]
    table = io.StringIO(newline="")     # csv's own \r\n line ends, as in a file opened with newline=""
    wr = csv.writer(table)
    wr.writerow(cols + ["rgb_sha256", "yuv_sha256"])
    for e in ordered:
        outs = e.get("outputs", {})
        row = [" ".join(map(str, e[c])) if c == "crop_box" else "; ".join(e[c]) if c == "warnings" else e[c]
               for c in cols]
        row += [next((v for k, v in outs.items() if k.endswith(".rgb")), ""),
                next((v for k, v in outs.items() if k.endswith(".yuv")), "")]
        wr.writerow(row)
    with OutputTransaction() as outputs:    # both manifests, or neither
        outputs.write_text(out_dir / "manifest.json", json.dumps(doc, indent=1) + "\n")
        outputs.write_bytes(out_dir / "manifest.csv", table.getvalue().encode())
