"""Encoder input: raw test sequences (.rgb planar 4:4:4, .yuv 4:2:0, 8 bits) with their size
and rate given, or any video file that OpenCV can read (mp4, avi, ...)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from bitstream.raw_video import RAW_FORMATS, iter_raw_frames, raw_frame_bytes


class InputError(ValueError):
    """The input cannot be read as the user described it."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    num_frames: int   # frames available (before --frames)


def probe(path: Path, width: int | None, height: int | None, fps: Fraction | None) -> VideoInfo:
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    fmt = path.suffix.lower().lstrip(".")
    if fmt in RAW_FORMATS:
        if not width or not height:
            raise InputError(f"a raw .{fmt} input needs --width and --height")
        if fmt == "yuv" and (width % 2 or height % 2):
            raise InputError("a 4:2:0 .yuv input needs even --width and --height")
        size = path.stat().st_size
        frame = raw_frame_bytes(fmt, width, height)
        if size == 0 or size % frame:
            raise InputError(f"{path} has {size} bytes, not a whole number of {width}x{height} "
                             f"{'RGB 4:4:4' if fmt == 'rgb' else 'YUV 4:2:0'} frames ({frame} bytes each)")
        return VideoInfo(width, height, fps or Fraction(25), size // frame)
    import cv2
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"cannot read {path} as a video")
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        rate = cap.get(cv2.CAP_PROP_FPS)
        if w <= 0 or h <= 0:
            raise InputError(f"{path} has no readable video stream")
    finally:
        cap.release()
    video_fps = Fraction(rate).limit_denominator(1001) if rate and rate > 0 else Fraction(25)
    return VideoInfo(w, h, fps or video_fps, max(n, 0))


def iter_frames(path: Path, info: VideoInfo, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """H x W x 3 uint8 RGB frames, one at a time (memory does not grow with the input)."""
    fmt = path.suffix.lower().lstrip(".")
    limit = info.num_frames if max_frames is None else min(max_frames, info.num_frames or max_frames)
    w, h = info.width, info.height
    if fmt in RAW_FORMATS:
        try:
            yield from iter_raw_frames(path, fmt, w, h, max_frames=limit)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return
    import cv2
    cap = cv2.VideoCapture(str(path))
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            count += 1
            yield np.ascontiguousarray(bgr[:, :, ::-1])
        if count == 0:
            raise InputError(f"no frame could be decoded from {path}")
    finally:
        cap.release()
