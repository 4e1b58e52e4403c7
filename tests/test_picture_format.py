"""Key-frame picture formats (spec 8.4): raw layout, integer BT.709 conversions, VVC decoding."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bitstream.errors import BitstreamError
from bitstream.picture_format import (frame_to_rgb_planar, rgb_planar_to_frame, rgb_to_yuv420,
                                      yuv420_to_rgb)


@pytest.mark.parametrize("rgb,ycbcr", [
    ((0, 0, 0), (16, 128, 128)), ((255, 255, 255), (235, 128, 128)),
    ((255, 0, 0), (63, 102, 240)), ((0, 255, 0), (173, 42, 26)), ((0, 0, 255), (32, 240, 118)),
])
def test_bt709_limited_range_primaries(rgb: tuple[int, int, int], ycbcr: tuple[int, int, int]) -> None:
    # Reference values: round(16 + 219*(Kr R + Kg G + Kb B)/255) etc. with Kr=.2126, Kb=.0722.
    frame = np.full((2, 2, 3), rgb, np.uint8)
    y, cb, cr = rgb_to_yuv420(frame)
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == ycbcr
    back = yuv420_to_rgb(y, cb, cr)[0, 0]
    assert np.abs(back.astype(int) - rgb).max() <= 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 255))
def test_grey_is_exact(v: int) -> None:
    frame = np.full((4, 6, 3), v, np.uint8)
    y, cb, cr = rgb_to_yuv420(frame)
    assert (cb == 128).all() and (cr == 128).all()
    assert np.abs(yuv420_to_rgb(y, cb, cr).astype(int) - v).max() <= 1


def _upsample_reference(c: np.ndarray) -> np.ndarray:
    """Spec 8.4.3 upsampling written loop by loop (16x scale)."""
    h, w = c.shape
    at = lambda y, x: int(c[min(max(y, 0), h - 1), min(max(x, 0), w - 1)])  # noqa: E731
    row = lambda Y, x: 3 * at(Y // 2, x) + at(Y // 2 + (1 if Y % 2 else -1), x)  # noqa: E731
    out = np.zeros((2 * h, 2 * w), np.int64)
    for Y in range(2 * h):
        for X in range(2 * w):
            out[Y, X] = 3 * row(Y, X // 2) + row(Y, X // 2 + (1 if X % 2 else -1))
    return out


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, (4, 6), elements=st.integers(0, 255)),
       arrays(np.uint8, (2, 3), elements=st.integers(0, 255)),
       arrays(np.uint8, (2, 3), elements=st.integers(0, 255)))
def test_yuv_to_rgb_matches_spec_formulas(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> None:
    U = _upsample_reference(cb) - 2048
    V = _upsample_reference(cr) - 2048
    L = 16 * 76309 * (y.astype(np.int64) - 16)
    r = np.clip((L + 117489 * V + (1 << 19)) >> 20, 0, 255)
    g = np.clip((L - 13975 * U - 34925 * V + (1 << 19)) >> 20, 0, 255)
    b = np.clip((L + 138438 * U + (1 << 19)) >> 20, 0, 255)
    assert np.array_equal(yuv420_to_rgb(y, cb, cr), np.stack([r, g, b], -1).astype(np.uint8))


def test_round_trip_quality_on_a_smooth_picture() -> None:
    yy, xx = np.mgrid[0:64, 0:64]
    frame = np.stack([xx * 4, yy * 4, (xx + yy) * 2], -1).astype(np.uint8)
    back = yuv420_to_rgb(*rgb_to_yuv420(frame))
    mse = ((back.astype(float) - frame) ** 2).mean()
    assert 10 * np.log10(255 ** 2 / mse) > 40


def test_raw_planar_layout() -> None:
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = frame_to_rgb_planar(frame)
    assert data[:6] == bytes(frame[:, :, 0].ravel())  # the whole R plane comes first
    assert np.array_equal(rgb_planar_to_frame(data, 3, 2), frame)
    with pytest.raises(BitstreamError, match="expected 18"):
        rgb_planar_to_frame(data[:-1], 3, 2)


def test_vvc_key_frame_round_trip_is_deterministic() -> None:
    pytest.importorskip("imageio_ffmpeg")
    from bitstream.keyframe_vvc import decode_vvc_rgb
    from ref_encoder.keyframe_coding import encode_vvc_intra
    yy, xx = np.mgrid[0:64, 0:64]
    frame = np.stack([xx * 4, yy * 4, 255 - (xx + yy) * 2], -1).astype(np.uint8)
    coded = encode_vvc_intra(frame, 32, preset="faster")
    assert coded.payload[:3] == b"\x00\x00\x00" or coded.payload[:4] == b"\x00\x00\x00\x01"
    again = decode_vvc_rgb(coded.payload, 64, 64)
    assert np.array_equal(again, coded.decoded)
    mse = ((coded.decoded.astype(float) - frame) ** 2).mean()
    assert 10 * np.log10(255 ** 2 / mse) > 30
    with pytest.raises(BitstreamError, match="does not decode|no coded picture"):
        decode_vvc_rgb(b"\x00\x00\x01garbage", 64, 64)


def test_key_frame_presets_all_decode_and_unknown_is_refused() -> None:
    """The default (medium) and the former default (faster) give key frames the one decoding
    process reads (the preset is an encoder choice); auto resolves as documented; an unknown
    preset is refused before VVenC runs, by the coder and the encoder."""
    pytest.importorskip("imageio_ffmpeg")
    from fractions import Fraction

    from bitstream.keyframe_vvc import decode_vvc_rgb
    from ref_encoder.encoder import Encoder, EncoderConfig
    from ref_encoder.keyframe_coding import (KEYFRAME_PRESETS, KeyframeCodingError, encode_vvc_intra,
                                             resolve_keyframe_preset)
    yy, xx = np.mgrid[0:64, 0:64]
    frame = np.stack([xx * 4, yy * 4, 255 - (xx + yy) * 2], -1).astype(np.uint8)
    for preset in ("faster", "medium"):
        coded = encode_vvc_intra(frame, 42, preset=preset)
        assert np.array_equal(decode_vvc_rgb(coded.payload, 64, 64), coded.decoded)
    assert EncoderConfig().vvc_preset == "auto" and "auto" not in KEYFRAME_PRESETS
    assert Encoder(EncoderConfig(), 64, 64, Fraction(25)).keyframe_preset == "medium"
    with_refresh = Encoder(EncoderConfig(refresh="auto"), 64, 64, Fraction(25))
    assert (with_refresh.keyframe_preset, with_refresh.later_keyframe_preset) == ("medium", "fast")
    assert Encoder(EncoderConfig(), 64, 64, Fraction(25)).later_keyframe_preset == "medium"
    assert Encoder(EncoderConfig(refresh="auto", vvc_preset="slow"), 64, 64, Fraction(25)).keyframe_preset == "slow"
    assert resolve_keyframe_preset("faster", True) == "faster"
    with pytest.raises(KeyframeCodingError, match="unknown key-frame preset 'fastest'"):
        encode_vvc_intra(frame, 42, preset="fastest")
    with pytest.raises(ValueError, match="unknown key-frame preset 'fastest'"):
        Encoder(EncoderConfig(vvc_preset="fastest"), 64, 64, Fraction(25))


def _alf_aps_count(payload: bytes) -> int:
    """The ALF adaptation parameter sets in an H.266 Annex B byte stream: NAL units of type
    PREFIX_APS_NUT (17) whose aps_params_type (the RBSP's first 3 bits) is ALF_APS (0)."""
    from bitstream.vvc_headers import nal_rbsp, nal_unit_header, split_nal_units
    return sum(1 for nal in split_nal_units(payload)
               if nal_unit_header(nal).nal_unit_type == 17 and nal_rbsp(nal)[0] >> 5 == 0)


def test_key_frame_filters_texture_codes_without_alf(monkeypatch: pytest.MonkeyPatch) -> None:
    """--keyframe-filters texture (the default) turns VVenC's adaptive loop filter off: no ALF
    parameter set in the key picture, where VVenC's own setting sends one for this textured
    picture; both decode with the one decoding process; the encoder hands its setting to every
    key picture it codes; unknown names are refused by the coder and the encoder."""
    pytest.importorskip("imageio_ffmpeg")
    from fractions import Fraction

    import ref_encoder.encoder as encoder_module
    from bitstream.keyframe_vvc import decode_vvc_rgb
    from ref_encoder.encoder import Encoder, EncoderConfig
    from ref_encoder.keyframe_coding import KeyframeCodingError, encode_vvc_intra
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:64, 0:64]
    smooth = np.stack([xx * 3, yy * 3, 200 - (xx + yy)], -1).astype(np.float64)
    frame = np.clip(smooth + rng.normal(0, 12, (64, 64, 3)), 0, 255).astype(np.uint8)
    own, texture = (encode_vvc_intra(frame, 32, preset="faster", filters=f) for f in ("vvenc", "texture"))
    assert _alf_aps_count(own.payload) >= 1 and _alf_aps_count(texture.payload) == 0
    for coded in (own, texture):
        assert np.array_equal(decode_vvc_rgb(coded.payload, 64, 64), coded.decoded)
    assert not np.array_equal(own.decoded, texture.decoded)
    assert EncoderConfig().keyframe_filters == "texture"
    with pytest.raises(KeyframeCodingError, match="unknown key-frame filters 'none'"):
        encode_vvc_intra(frame, 32, filters="none")
    with pytest.raises(ValueError, match="unknown key-frame filters 'none'"):
        Encoder(EncoderConfig(keyframe_filters="none"), 64, 64, Fraction(25))
    # every key picture the encoder codes, the first and a refresh, gets the configured filters
    for setting in ("texture", "vvenc"):
        seen: list[str] = []

        def spy(picture: np.ndarray, qp: int, preset: str = "medium", filters: str = "vvenc") -> object:
            seen.append(filters)
            return encode_vvc_intra(picture, qp, preset="faster", filters=filters)

        enc = Encoder(EncoderConfig(keyframe_qp=32, keyframe_filters=setting), 64, 64, Fraction(25))
        monkeypatch.setattr(encoder_module, "encode_vvc_intra", spy)
        enc._code_picture(frame, first=True)
        enc._code_picture(frame, first=False)
        assert seen == [setting, setting]


def test_key_frame_filters_option_error_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """ifvc-encode --keyframe-filters with an unknown name: one line naming the choices, exit 2, no stream."""
    from tests.test_refresh_invented import refresh_option_error
    line = refresh_option_error(capsys, tmp_path, ["--keyframe-filters", "none"])
    assert "--keyframe-filters" in line and "'texture'" in line
