"""Adaptive refresh's teeth measure (ref_encoder/adaptive_refresh.py, --refresh-teeth): a key frame
where the source plainly shows teeth and no reference that draws the frame does (Annex H.5's
key-teeth rule on both sides), so that the mouth's teeth band is the key frame's own teeth."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from bitstream.raw_video import read_rgb444
from ifvc_synthesis.generators import get_generator
from ifvc_synthesis.generators.mesh_features import TEETH_MIN_KEY_GAP_PX, TEETH_MIN_SHARE, shows_teeth, \
    teeth_measures
from ifvc_synthesis.idi import INNER_LIP_RING, OUTER_LOWER_LIP, OUTER_UPPER_LIP
from ref_encoder.adaptive_refresh import (TEETH_SOURCE_MIN_GAP_PX, TEETH_SOURCE_MIN_SHARE, AdaptiveRefresh,
                                          source_shows_teeth)
from tests.test_multi_reference import prepared_sequence
from tests.test_refresh_invented import refresh_option_error

CLIP = "videoretalking_face_1.mp4"     # train split: the first frame's mouth is shut, teeth show from frame 7
FRAMES = 40


def _mouth(gap: float, inside: tuple[int, int, int], width: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """A 96 x 96 skin picture with red lips around an inner-lip ring of the given gap (pixels),
    filled with `inside`, and 478 MediaPipe-indexed landmarks placing the lips there."""
    h = w = 96
    pic = np.full((h, w, 3), (200, 160, 140), np.uint8)
    lm = np.zeros((478, 3), np.float64)
    cx, cy = 48.0, 50.0
    ring = list(INNER_LIP_RING)             # 78 .. 308 along the upper lip, then back along the lower
    n_up = ring.index(308) + 1
    for k, idx in enumerate(ring[:n_up]):   # upper inner lip: corner to corner
        x = cx - width / 2 + width * k / (n_up - 1)
        lm[idx] = (x, cy - gap / 2 * np.sqrt(max(1 - ((x - cx) / (width / 2)) ** 2, 0.0)), 0)
    lower = ring[n_up:]
    for k, idx in enumerate(lower):        # lower inner lip: back from the right corner
        x = cx + width / 2 - width * (k + 1) / (len(lower) + 1)
        lm[idx] = (x, cy + gap / 2 * np.sqrt(max(1 - ((x - cx) / (width / 2)) ** 2, 0.0)), 0)
    for k, idx in enumerate(OUTER_UPPER_LIP):
        lm[idx] = (cx - width / 2 + width * k / 8, cy - gap / 2 - 5, 0)
    for k, idx in enumerate(OUTER_LOWER_LIP):
        lm[idx] = (cx - width / 2 + width * k / 8, cy + gap / 2 + 5, 0)
    cv2.ellipse(pic, (48, 50), (24, int(gap / 2) + 6), 0, 0, 360, (170, 60, 70), -1)   # the lips
    poly = np.round(lm[ring, :2] * 16).astype(np.int32)
    cv2.fillPoly(pic, [poly], inside, lineType=cv2.LINE_AA, shift=4)
    return pic, lm


@pytest.mark.parametrize("gap, inside, plain", [
    (12.0, (235, 232, 225), True),      # wide open, white teeth
    (12.0, (60, 20, 25), False),        # wide open, a dark cavity
    (4.0, (235, 232, 225), False),      # teeth, but the lips barely apart: not plainly
    (0.0, (235, 232, 225), False),      # shut
])
def test_source_shows_teeth_is_h5_rule_with_stricter_limits(gap: float, inside: tuple[int, int, int],
                                                            plain: bool) -> None:
    pic, lm = _mouth(gap, inside)
    assert source_shows_teeth(pic, lm) is plain
    up = lm[[78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]]
    lo = lm[[78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]]
    lip = np.array([170, 60, 70], np.float32)
    measured_gap, share = teeth_measures(pic.astype(np.float32), lm[list(INNER_LIP_RING)], up, lo, lip)
    assert measured_gap == pytest.approx(gap, abs=1e-6)
    # the stricter limits pass only what H.5's own limits pass too
    assert TEETH_SOURCE_MIN_GAP_PX > TEETH_MIN_KEY_GAP_PX and TEETH_SOURCE_MIN_SHARE > TEETH_MIN_SHARE
    h5 = shows_teeth(pic.astype(np.float32), lm[list(INNER_LIP_RING)], up, lo, lip)
    assert h5 == (measured_gap >= TEETH_MIN_KEY_GAP_PX and share >= TEETH_MIN_SHARE)
    if plain:
        assert h5 and share > 0.5


def test_only_mesh_generators_measure_teeth() -> None:
    """The teeth measure needs Annex H.5's mouth (ifvc-geometric-3 and later); elsewhere, and
    without --refresh, the encoder says that the option has no effect."""
    from ref_encoder.encoder import Encoder, EncoderConfig
    assert AdaptiveRefresh("ifvc-geometric-7", 17.0, 1, teeth=True).teeth
    assert AdaptiveRefresh("ifvc-geometric-3", 17.0, 1, teeth=True).teeth
    assert not AdaptiveRefresh("ifvc-geometric-7", 17.0, 1).teeth
    for name in ("ifvc-geometric-1", "ifvc-geometric-2"):
        assert not AdaptiveRefresh(name, 17.0, 1, teeth=True).teeth
    said: list[str] = []
    for generator, refresh, expected in (("ifvc-geometric-1", "auto", "does not draw Annex H.5's mouth"),
                                         ("ifvc-geometric-7", "off", "without --refresh"),
                                         ("ifvc-geometric-7", "auto", None)):
        said.clear()
        Encoder(EncoderConfig(keyframe_codec="raw", generator_name=generator, refresh=refresh,
                              refresh_teeth=True), 64, 64, Fraction(25), warn=said.append)
        about = [m for m in said if "--refresh" in m]
        assert about == [] if expected is None else (len(about) == 1 and expected in about[0])
    assert EncoderConfig().refresh_teeth == "off"                 # opt-in


def test_resolve_teeth() -> None:
    from ref_encoder.adaptive_refresh import TEETH_AUTO_MAX_QP, resolve_teeth
    assert resolve_teeth("on", 52) and resolve_teeth(True, 0) and not resolve_teeth("off", 22)
    assert resolve_teeth("auto", TEETH_AUTO_MAX_QP) and not resolve_teeth("auto", TEETH_AUTO_MAX_QP + 1)
    for bad in ("yes", "", 1.0):
        with pytest.raises(ValueError, match="refresh teeth"):
            resolve_teeth(bad, 32)   # type: ignore[arg-type]


def test_refresh_teeth_option_is_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "--refresh-teeth" in refresh_option_error(capsys, tmp_path, ["--refresh-teeth", "yes"])


@pytest.fixture(scope="module")
def sequence(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepared_sequence(shared_data, tmp_path_factory.mktemp("teeth"), CLIP, FRAMES)


def _encode(seq: Path, **kw: object):  # type: ignore[no-untyped-def]
    from ref_encoder.encoder import Encoder, EncoderConfig
    # a face threshold that never fires: the teeth measure alone decides
    settings = {"keyframe_qp": 32, "generator_name": "ifvc-geometric-7", "refresh": 0.001, **kw}
    cfg = EncoderConfig(**settings)  # type: ignore[arg-type]
    return Encoder(cfg, 256, 256, Fraction(25), num_frames=FRAMES).encode(read_rgb444(seq))


def _teeth_frames(seq: Path) -> list[int]:
    from ref_encoder.analysis import FaceAnalyzer
    analyzer = FaceAnalyzer()
    shown = []
    for i, rgb in enumerate(read_rgb444(seq)):
        landmarks = analyzer.analyze_frame(rgb).landmarks
        if landmarks is not None and source_shows_teeth(rgb, landmarks):
            shown.append(i)
    return shown


def test_teeth_key_frame_where_the_source_shows_teeth(sequence: Path) -> None:
    """The first checked frame (12 or more after the key frame) whose source plainly shows teeth
    becomes a key frame when the key frame shows none; the decoder's generator then finds teeth
    in it (H.5 draws the key frame's own teeth), so no second teeth key frame follows."""
    from ref_decoder.decoder import Decoder
    from ref_encoder.adaptive_refresh import REFRESH_MIN_GAP
    off = _encode(sequence)
    assert off.refresh is not None and off.refresh.inserted == 0
    teeth = _teeth_frames(sequence)
    assert 0 not in teeth and teeth, "the clip's first frame is shut, later ones show teeth"
    first_checked = min(i for i in teeth if i >= REFRESH_MIN_GAP)
    on = _encode(sequence, refresh_teeth=True)
    keys = [f.frame_idx for f in on.frames if f.kind == "key"]
    assert keys == [0, first_checked]
    assert on.refresh is not None and on.refresh.inserted_by == {"teeth": 1}
    decoder = Decoder()
    frames = list(decoder.decode(on.stream))
    assert len(frames) == FRAMES
    assert decoder.generator.features.key_has_teeth          # type: ignore[union-attr]
    generator = get_generator("ifvc-geometric-7")
    assert type(decoder.generator) is type(generator)


def test_one_teeth_try_per_key_frame(sequence: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the inserted key frame's decoded picture fails H.5's rule (forced here), the encoder
    does not insert another one for teeth: the newest key frame was already its try."""
    from ifvc_synthesis.generators import mesh_features
    # an instance attribute set in __init__: a class property without a setter that says False
    monkeypatch.setattr(mesh_features.MouthAndEyes, "key_has_teeth",
                        property(lambda self: False, lambda self, value: None), raising=False)
    from ref_encoder.adaptive_refresh import REFRESH_MIN_GAP
    on = _encode(sequence, refresh_teeth=True)
    keys = [f.frame_idx for f in on.frames if f.kind == "key"]
    assert len(keys) == 2 and on.refresh is not None and on.refresh.inserted_by == {"teeth": 1}
    later = [i for i in _teeth_frames(sequence) if i >= keys[1] + REFRESH_MIN_GAP]
    assert later, "teeth show again after the minimum gap: a second try would have been possible"
