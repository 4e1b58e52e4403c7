"""Virtual characters (spec 8.6, the decoder's ``--character``): a face picture (a photo or an
avatar) becomes a one-key-frame IFVC stream that carries the picture, its reference semantics
and its geometry. The face is cropped like the test sequences (sequence_preparation.py) and
resized to the picture size of the streams it will animate.

Library code of ``ifvc-character`` (tools/make_character.py) and of the studio's "drop a face
photo" (studio/); both are front ends of these two functions.
"""
from __future__ import annotations

import os
from fractions import Fraction

os.environ.setdefault("GLOG_minloglevel", "2")        # MediaPipe's C++ logging

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ref_encoder.analysis import FaceAnalyzer, NoFaceError  # noqa: E402
from ref_encoder.encoder import Encoder, EncoderConfig  # noqa: E402

from .sequence_preparation import choose_crop, face_box  # noqa: E402

DEFAULT_CHARACTER_QP = 27      # the character is sent once: a good key frame is cheap


def character_frame(rgb: np.ndarray, size: int) -> np.ndarray:
    """The face crop of a picture (H x W x 3 uint8 RGB), size x size; NoFaceError without a face."""
    with FaceAnalyzer(tracking=False) as fa:
        found = fa.analyze_frame(rgb)
    if not found.face_found:
        raise NoFaceError("no face found in the character picture")
    h, w = rgb.shape[:2]
    x0, y0, side, _, _ = choose_crop([face_box(found.landmarks[:, :2])], w, h)
    crop = rgb[y0:y0 + side, x0:x0 + side]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_CUBIC)


def make_character(rgb: np.ndarray, size: int, qp: int = DEFAULT_CHARACTER_QP) -> bytes:
    """The character stream of a face picture: one VVC key frame of size x size."""
    frame = character_frame(rgb, size)
    cfg = EncoderConfig(keyframe_qp=qp, hash_units=True, smoothing=False, vvc_preset="medium")
    return Encoder(cfg, size, size, Fraction(25), num_frames=1).encode([frame]).stream
