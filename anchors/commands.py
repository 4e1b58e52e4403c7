"""Command lines of the anchors: ffmpeg (VVenC, x265) and VTM EncoderApp/DecoderApp.

Pure functions of the config and the job, so they can be unit-tested without the tools.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from anchors.configs import AnchorConfig
from anchors.errors import AnchorError
from anchors.rawio import Geometry


def pix_fmt(bit_depth: int) -> str:
    """ffmpeg's name of planar YUV 4:2:0 at that bit depth."""
    return "yuv420p10le" if bit_depth > 8 else "yuv420p"


def fps_text(fps: float) -> str:
    """25 -> "25"; 29.97 -> "30000/1001" (ffmpeg takes both)."""
    fraction = Fraction(fps).limit_denominator(1001)
    return str(fraction.numerator) if fraction.denominator == 1 else str(fraction)


def ffmpeg_encode_command(ffmpeg: Path, config: AnchorConfig, qp: int, geometry: Geometry,
                          fps: float, frames: int, yuv_in: Path, stream_out: Path,
                          preset: str | None = None) -> list[str]:
    """Raw 4:2:0 in (already at the coded bit depth, so ffmpeg converts nothing), stream out.
    ``preset`` fills the config's {preset} (None: the config's default_preset)."""
    return [
        str(ffmpeg), "-hide_banner", "-nostdin", "-nostats", "-y",
        "-f", "rawvideo", "-pix_fmt", pix_fmt(config.coded_bit_depth),
        "-s", f"{geometry.width}x{geometry.height}", "-framerate", fps_text(fps),
        "-i", str(yuv_in),
        "-frames:v", str(frames), "-an", "-fps_mode", "passthrough",
        *config.args("ffmpeg_encoder_args", qp=qp, preset=config.preset(preset)),
        "-f", str(config.data["ffmpeg_muxer"]), str(stream_out),
    ]


def ffmpeg_decode_command(ffmpeg: Path, config: AnchorConfig, stream: Path,
                          yuv_out: Path) -> list[str]:
    """Native decoder named explicitly; output in its own pixel format, so no conversion."""
    return [
        str(ffmpeg), "-hide_banner", "-nostdin", "-nostats", "-y",
        "-c:v", str(config.data["ffmpeg_decoder"]), "-f", str(config.data["ffmpeg_muxer"]),
        "-i", str(stream),
        "-an", "-fps_mode", "passthrough",
        "-f", "rawvideo", "-pix_fmt", pix_fmt(config.coded_bit_depth), str(yuv_out),
    ]


def vtm_encode_command(encoder: Path, config: AnchorConfig, cfg: Path, qp: int,
                       geometry: Geometry, fps: float, frames: int, yuv_in: Path,
                       recon: Path, stream_out: Path) -> list[str]:
    """EncoderApp with the low-delay cfg; 8-bit 4:2:0 file in, 8-bit reconstruction out."""
    if Fraction(fps).limit_denominator(1001).denominator != 1:
        raise AnchorError(f"VTM's -fr takes whole frame rates, not {fps}")
    return [str(encoder), *config.args(
        "vtm_encoder_args", cfg=cfg, input=yuv_in, recon=recon, stream=stream_out, qp=qp,
        width=geometry.width, height=geometry.height, fps=round(fps), frames=frames)]


def vtm_decode_command(decoder: Path, config: AnchorConfig, stream: Path,
                       yuv_out: Path) -> list[str]:
    return [str(decoder), *config.args("vtm_decoder_args", stream=stream, output=yuv_out)]


def resolve_vtm_cfg(cfg: str | Path, encoder: Path) -> Path:
    """The cfg as given, or by name in a VTM tree's cfg/ folder beside the encoder's bin/."""
    given = Path(cfg)
    candidates = [given]
    if not given.is_absolute():
        for parent in list(encoder.resolve().parents)[:4]:
            candidates.append(parent / "cfg" / given)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AnchorError(f"VTM cfg not found: {cfg} (looked in the current folder and in cfg/ "
                      f"of the VTM tree of {encoder}); give --vtm-cfg PATH")
