"""Key-frame coding with VVC intra (VVenC through ffmpeg): the RGB picture is converted to
YCbCr 4:2:0 by the spec's integer BT.709 conversion, raised to 10 bits (VVenC codes Main 10)
and coded as a single intra picture. The encoder decodes the result with the same process
as the decoder, so its analysis sees exactly the key frame the decoder will see."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

import numpy as np

from bitstream.keyframe_vvc import decode_vvc_rgb, find_ffmpeg
from bitstream.picture_format import rgb_to_yuv420


class KeyframeCodingError(RuntimeError):
    pass


# VVenC's speed presets, fastest first. An encoder choice (informative): the decoder reads any.
KEYFRAME_PRESETS = ("faster", "fast", "medium", "slow", "slower")
# "auto": medium (8-26 % fewer bits than faster at a higher PSNR; docs/results/keyframe_preset_2026-12-03);
# with adaptive refresh, the key frames after the first fast, so that the encoder stays above
# 15 frames/s where it inserts several (medium costs about 1.8 s of CPU per key frame at QP 22).
# The first key frame is medium either way: a stream in which refresh never fires is the stream
# without refresh (docs/results/refresh_periods_2026-12-05).
AUTO_PRESET, AUTO_PRESET_WITH_REFRESH = "medium", "fast"


def resolve_keyframe_preset(setting: str, refresh_on: bool, first: bool = True) -> str:
    """The VVenC preset of a key frame (the first one, or a later one): ``setting``, or for
    "auto" AUTO_PRESET (a later key frame with adaptive refresh on: AUTO_PRESET_WITH_REFRESH);
    ValueError for an unknown name."""
    if setting == "auto":
        return AUTO_PRESET_WITH_REFRESH if refresh_on and not first else AUTO_PRESET
    if setting not in KEYFRAME_PRESETS:
        raise ValueError(f"unknown key-frame preset {setting!r}; use auto or one of {', '.join(KEYFRAME_PRESETS)}")
    return setting


# VVenC's in-loop filters for the key pictures, as -vvenc-params (an encoder choice, informative:
# every VVC decoder reads either). "vvenc": VVenC's own settings. "texture": no ALF and no CC-ALF.
# The adaptive loop filter is a Wiener filter fitted for squared error: it smooths the hair and
# skin texture that every synthesised frame carries (docs/results/keyframe_filters_2026-12-07).
KEYFRAME_FILTERS = {
    "vvenc": "",
    "texture": "ALF=0:CCALF=0",
}
# The reference encoder's default: texture at every key-frame QP (on the quick config's test and
# train splits: streams 0.8-1.5 % smaller on average, better LPIPS-Alex and DISTS BD-rates, the
# same LPIPS-VGG one). encode_vvc_intra's own default stays vvenc: the training tools code their
# pictures as the shipped networks were trained.
DEFAULT_KEYFRAME_FILTERS = "texture"


@dataclass(frozen=True)
class CodedKeyframe:
    payload: bytes          # H.266 elementary stream, Annex B byte stream
    decoded: np.ndarray     # H x W x 3 uint8, as every decoder reconstructs it
    qp: int


def encode_vvc_intra(frame: np.ndarray, qp: int, preset: str = "medium", filters: str = "vvenc") -> CodedKeyframe:
    """The frame coded as the encoder codes a key picture: VVenC intra at this preset, with the
    in-loop filters of KEYFRAME_FILTERS[filters] and no perceptual QP adaptation."""
    if preset not in KEYFRAME_PRESETS:
        raise KeyframeCodingError(f"unknown key-frame preset {preset!r}; choose one of {', '.join(KEYFRAME_PRESETS)}")
    if filters not in KEYFRAME_FILTERS:
        raise KeyframeCodingError(f"unknown key-frame filters {filters!r}; choose one of {', '.join(KEYFRAME_FILTERS)}")
    return vvenc_intra(frame, qp, preset, KEYFRAME_FILTERS[filters])


def vvenc_intra(frame: np.ndarray, qp: int, preset: str, vvenc_params: str = "", qpa: bool = False) -> CodedKeyframe:
    """One intra picture coded by VVenC with any -vvenc-params (and QPA on or off), decoded back:
    encode_vvc_intra's coder, open to studies of other settings (not checked against a list)."""
    if not 0 <= qp <= 63:
        raise KeyframeCodingError(f"key-frame QP {qp} out of range 0..63")
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        raise KeyframeCodingError(f"a VVC key frame needs an even width and height (spec 8.4.2), got {w}x{h}")
    y, cb, cr = rgb_to_yuv420(frame)
    planes10 = b"".join((p.astype("<u2") << 2).tobytes() for p in (y, cb, cr))
    cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
           "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}", "-i", "pipe:0", "-frames:v", "1",
           "-c:v", "libvvenc", "-preset", preset, "-qp", str(qp), "-qpa", "1" if qpa else "0", "-g", "1",
           *(["-vvenc-params", vvenc_params] if vvenc_params else []), "-f", "vvc", "pipe:1"]
    proc = subprocess.run(cmd, input=planes10, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0 or not proc.stdout:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise KeyframeCodingError("VVenC failed to code the key frame: " + " | ".join(tail))
    payload = proc.stdout
    return CodedKeyframe(payload, decode_vvc_rgb(payload, w, h), qp)
