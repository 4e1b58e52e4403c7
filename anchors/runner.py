"""Run one anchor: RGB in, YUV 4:2:0, encode, decode, RGB out, and a JSON result.

Idempotent: the result JSON carries a hash of everything the result depends on (codec, QP,
geometry, frames, the input's SHA-256, the config file, the tool identity); a re-run with the
same hash whose stream and output files still match their recorded SHA-256 does nothing.
Outputs appear only when complete: work happens in a hidden temporary folder inside the
output folder and the finished files are renamed into place, the JSON last.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from anchors import colour, commands, rawio, toolchain
from anchors.configs import AnchorConfig, load_config
from anchors.errors import AnchorError
from anchors.nal_units import analyse, starts_with_start_code
from anchors.rawio import Geometry
from ifvc_common.errors import UsageError
from ifvc_common.files import sha256_file
from ifvc_common.outputs import OutputTransaction
from ifvc_common.paths import refuse_same_file

# Bump when the pipeline's output for the same inputs changes (e.g. the colour conversion).
PIPELINE_VERSION = 1
COLOUR_CONVERSION = (
    "RGB 4:4:4 8-bit -> Y'CbCr BT.709 limited range (Y 16-235, C 16-240), chroma 2x2 mean "
    "(centre-sited) -> 4:2:0 8-bit [x<<2 to 10-bit when coded at 10 bits]; decoded 4:2:0 "
    "[(x+2)>>2 from 10-bit] -> chroma bilinear x2 (centre-sited) -> BT.709 limited inverse -> "
    "RGB 8-bit, rounded and clipped; done in numpy (anchors/colour.py), not by ffmpeg")

Progress = Callable[[str], None]


def print_progress(message: str) -> None:
    print(f"[anchors] {message}", file=sys.stderr, flush=True)


@dataclass
class AnchorJob:
    """What to run. Paths may be str or Path; ``frames`` None means the whole input."""

    codec: str
    qp: int
    input_path: Path
    out_dir: Path
    width: int = 256
    height: int = 256
    fps: float = 25.0
    frames: int | None = None
    ffmpeg: Path | None = None
    vtm_encoder: Path | None = None
    vtm_decoder: Path | None = None
    vtm_cfg: Path | None = None
    config_path: Path | None = None
    preset: str | None = None          # encoder preset (VVenC); None: the config's default
    force: bool = False


@dataclass
class AnchorResult:
    """What one anchor run produced; also the content of its JSON file."""

    codec: str
    config_name: str
    config_sha256: str
    encoder: str
    encoder_version: str | None
    tool_version: str
    qp: int
    width: int
    height: int
    fps: float
    frames: int
    bits: int
    kbps: float
    encode_seconds: float
    decode_seconds: float
    encode_fps: float
    decode_fps: float
    commands: dict[str, str]          # exact command lines, shell-quoted
    input_path: str
    input_sha256: str
    stream_path: str
    stream_sha256: str
    output_path: str
    output_sha256: str
    stream_structure: dict[str, Any]
    colour_conversion: str
    job_hash: str
    pipeline_version: int = PIPELINE_VERSION
    created_utc: str = ""
    host_cpus: int | None = None
    preset: str | None = None         # the encoder preset the stream was made with (VVenC)
    reused: bool = field(default=False, compare=False)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("reused")
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AnchorResult:
        return cls(**json.loads(text))


def run_anchor(job: AnchorJob, progress: Progress | None = print_progress) -> AnchorResult:
    """Run (or reuse) one anchor; raises AnchorError on any problem a user can fix."""
    say = progress or (lambda _message: None)
    config = load_config(job.codec, Path(job.config_path) if job.config_path else None)
    _check_job(job, config)
    geometry = Geometry(job.width, job.height)
    input_path = Path(job.input_path)
    out_dir = Path(job.out_dir)
    preset = config.preset(job.preset)
    # A preset other than the config's default is in the file names: both can share a folder.
    suffix = f"_{preset}" if preset != config.default_preset else ""
    base = f"{input_path.stem}_{job.codec}{suffix}_qp{job.qp}"
    stream_path = out_dir / (base + config.stream_extension)
    output_path = out_dir / (base + ".rgb")
    result_path = out_dir / (base + ".json")
    try:        # before the input is read: no output may be the input (by a link, say)
        refuse_same_file([input_path], [stream_path, output_path, result_path])
    except UsageError as error:
        raise AnchorError(str(error)) from None
    available = rawio.count_rgb_frames(input_path, geometry)
    frames = available if job.frames is None else job.frames
    if frames > available:
        raise AnchorError(f"--frames {frames} asked, but {input_path} has only {available} "
                          f"frames of {job.width}x{job.height}")
    tools = _Tools.prepare(job, config)
    input_sha = sha256_file(input_path, frames * geometry.rgb_frame_bytes)
    job_hash = _job_hash(job, config, tools, frames, input_sha, preset)

    if not job.force:
        previous = _reusable(result_path, job_hash)
        if previous is not None:
            say(f"{base}: up to date ({result_path}), skipped")
            return previous

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # absolute: VTM runs with its working directory in `work` (its side files land there)
        work = Path(tempfile.mkdtemp(prefix=".anchor-tmp-", dir=out_dir)).absolute()
    except OSError as error:
        raise AnchorError(f"cannot write to {out_dir}: {error.strerror}") from None
    try:
        say(f"{base}: converting {frames} frames RGB -> YUV 4:2:0 "
            f"{config.coded_bit_depth}-bit")
        yuv_in = work / "input.yuv"
        _rgb_file_to_yuv(input_path, geometry, frames, config.coded_bit_depth, yuv_in)
        stream_tmp = work / ("stream" + config.stream_extension)
        yuv_out = work / "decoded.yuv"
        say(f"{base}: encoding with {config.data['encoder']} at QP {job.qp}")
        encode = tools.encode(config, job, geometry, frames, yuv_in, stream_tmp, work, preset)
        structure = _check_stream(stream_tmp, config, frames)
        say(f"{base}: decoding")
        decode = tools.decode(config, stream_tmp, yuv_out, work)
        _check_size(yuv_out, frames * geometry.yuv_frame_bytes(config.coded_bit_depth),
                    "decoded YUV")
        tools.check_reconstruction(work, yuv_out)
        output_tmp = work / "output.rgb"
        _yuv_file_to_rgb(yuv_out, geometry, frames, config.coded_bit_depth, output_tmp)

        bits = 8 * stream_tmp.stat().st_size
        seconds = frames / job.fps
        result = AnchorResult(
            codec=job.codec, config_name=config.name, config_sha256=config.sha256,
            encoder=str(config.data["encoder"]),
            encoder_version=toolchain.encoder_version_from_log(encode.stdout + encode.stderr),
            tool_version=tools.version, qp=job.qp, width=job.width, height=job.height,
            fps=job.fps, frames=frames, bits=bits, kbps=bits / 1000.0 / seconds,
            encode_seconds=round(encode.seconds, 4), decode_seconds=round(decode.seconds, 4),
            encode_fps=round(frames / encode.seconds, 2),
            decode_fps=round(frames / decode.seconds, 2),
            commands={"encode": shlex.join(encode.argv), "decode": shlex.join(decode.argv)},
            input_path=str(input_path), input_sha256=input_sha,
            stream_path=str(stream_path), stream_sha256=sha256_file(stream_tmp),
            output_path=str(output_path), output_sha256=sha256_file(output_tmp),
            stream_structure=structure, colour_conversion=COLOUR_CONVERSION,
            job_hash=job_hash,
            created_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            host_cpus=os.cpu_count(), preset=preset)
        result_tmp = work / "result.json"
        result_tmp.write_text(result.to_json())
        # The JSON goes last: a result file only ever describes files already in place.
        with OutputTransaction() as outputs:
            outputs.adopt(stream_tmp, stream_path)
            outputs.adopt(output_tmp, output_path)
            outputs.adopt(result_tmp, result_path)
    except OSError as error:
        raise AnchorError(f"file error in {out_dir}: {error}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"{base}: {bits} bits, {result.kbps:.2f} kbps, encode {result.encode_fps:.1f} fps, "
        f"decode {result.decode_fps:.1f} fps -> {result_path}")
    return result


def _check_job(job: AnchorJob, config: AnchorConfig) -> None:
    low, high = config.qp_range
    if not low <= job.qp <= high:
        raise AnchorError(f"QP {job.qp} out of range {low}..{high} for {job.codec}; this "
                          f"anchor's QPs are {', '.join(map(str, config.qps))}")
    if job.width <= 0 or job.height <= 0 or job.width % 2 or job.height % 2:
        raise AnchorError(f"width and height must be positive and even, got "
                          f"{job.width}x{job.height}")
    if not job.fps > 0:
        raise AnchorError(f"fps must be positive, got {job.fps}")
    if job.frames is not None and job.frames <= 0:
        raise AnchorError(f"--frames must be positive, got {job.frames}")


@dataclass
class _Tools:
    """The external programs of one job and how to call them."""

    kind: str                      # "ffmpeg" or "vtm"
    version: str                   # what identifies the tools (goes into the job hash)
    ffmpeg: Path | None = None
    vtm_encoder: Path | None = None
    vtm_decoder: Path | None = None
    vtm_cfg: Path | None = None

    @classmethod
    def prepare(cls, job: AnchorJob, config: AnchorConfig) -> _Tools:
        if config.tool == "ffmpeg":
            ffmpeg = toolchain.find_ffmpeg(job.ffmpeg)
            version = toolchain.ffmpeg_version(ffmpeg)
            toolchain.require_ffmpeg_codec(ffmpeg, "encoders", str(config.data["encoder"]))
            toolchain.require_ffmpeg_codec(ffmpeg, "decoders", str(config.data["ffmpeg_decoder"]))
            return cls("ffmpeg", version, ffmpeg=ffmpeg)
        if job.vtm_encoder is None or job.vtm_decoder is None:
            raise AnchorError("codec vtm needs --vtm-encoder PATH and --vtm-decoder PATH "
                              "(VTM's EncoderApp and DecoderApp)")
        # Relative paths are the user's (working directory); VTM runs elsewhere: make them absolute.
        encoder = toolchain.require_executable(Path(job.vtm_encoder), "VTM encoder").absolute()
        decoder = toolchain.require_executable(Path(job.vtm_decoder), "VTM decoder").absolute()
        cfg = commands.resolve_vtm_cfg(job.vtm_cfg or str(config.data["default_cfg"]), encoder).absolute()
        # The binaries and the cfg, by content: a rebuilt VTM makes a new result.
        version = (f"VTM EncoderApp sha256 {sha256_file(encoder)}, DecoderApp "
                   f"sha256 {sha256_file(decoder)}, cfg {cfg.name} sha256 "
                   f"{sha256_file(cfg)}")
        return cls("vtm", version, vtm_encoder=encoder, vtm_decoder=decoder, vtm_cfg=cfg)

    def encode(self, config: AnchorConfig, job: AnchorJob, geometry: Geometry, frames: int,
               yuv_in: Path, stream: Path, work: Path, preset: str | None) -> toolchain.ToolRun:
        if self.kind == "ffmpeg":
            assert self.ffmpeg is not None
            argv = commands.ffmpeg_encode_command(self.ffmpeg, config, job.qp, geometry,
                                                  job.fps, frames, yuv_in, stream, preset)
            return toolchain.run_tool(argv, f"{config.data['encoder']} encoding")
        assert self.vtm_encoder is not None and self.vtm_cfg is not None
        argv = commands.vtm_encode_command(self.vtm_encoder, config, self.vtm_cfg, job.qp,
                                           geometry, job.fps, frames, yuv_in,
                                           work / "vtm_recon.yuv", stream)
        return toolchain.run_tool(argv, "VTM EncoderApp", cwd=work)

    def decode(self, config: AnchorConfig, stream: Path, yuv_out: Path,
               work: Path) -> toolchain.ToolRun:
        if self.kind == "ffmpeg":
            assert self.ffmpeg is not None
            argv = commands.ffmpeg_decode_command(self.ffmpeg, config, stream, yuv_out)
            return toolchain.run_tool(argv, f"{config.data['ffmpeg_decoder']} decoding")
        assert self.vtm_decoder is not None
        argv = commands.vtm_decode_command(self.vtm_decoder, config, stream, yuv_out)
        return toolchain.run_tool(argv, "VTM DecoderApp", cwd=work)

    def check_reconstruction(self, work: Path, yuv_out: Path) -> None:
        """VTM only: the encoder's reconstruction must match the decoder's output."""
        recon = work / "vtm_recon.yuv"
        if self.kind == "vtm" and recon.is_file():
            if sha256_file(recon) != sha256_file(yuv_out):
                raise AnchorError("VTM DecoderApp output differs from EncoderApp's "
                                  "reconstruction (encoder/decoder mismatch)")


def _job_hash(job: AnchorJob, config: AnchorConfig, tools: _Tools, frames: int,
              input_sha: str, preset: str | None) -> str:
    identity: dict[str, Any] = {
        "pipeline_version": PIPELINE_VERSION, "codec": job.codec, "qp": job.qp,
        "width": job.width, "height": job.height, "fps": job.fps, "frames": frames,
        "input_sha256": input_sha, "config_sha256": config.sha256, "tools": tools.version,
    }
    if preset is not None:          # codecs without presets keep their earlier hashes
        identity["preset"] = preset
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _reusable(result_path: Path, job_hash: str) -> AnchorResult | None:
    """The previous result if it is for the same job and its files are intact."""
    try:
        previous = AnchorResult.from_json(result_path.read_text())
    except (OSError, ValueError, TypeError):
        return None
    if previous.job_hash != job_hash:
        return None
    for path, sha in ((previous.stream_path, previous.stream_sha256),
                      (previous.output_path, previous.output_sha256)):
        if not Path(path).is_file() or sha256_file(Path(path)) != sha:
            return None
    previous.reused = True
    return previous


def _check_stream(stream: Path, config: AnchorConfig, frames: int) -> dict[str, Any]:
    """The stream must be Annex B with parameter sets, one intra picture, then inter ones."""
    data = stream.read_bytes()
    if not starts_with_start_code(data):
        raise AnchorError(f"encoder output is not an Annex B stream ({len(data)} bytes)")
    structure = analyse(data, config.standard)
    if not structure.has_parameter_sets:
        raise AnchorError("encoder output lacks SPS/PPS")
    if structure.pictures != frames:
        raise AnchorError(f"stream holds {structure.pictures} pictures, expected {frames}")
    if not structure.is_one_intra_then_inter():
        raise AnchorError(f"stream is not one intra picture then inter pictures: "
                          f"{structure.summary()}")
    return structure.summary()


def _check_size(path: Path, expected: int, what: str) -> None:
    size = path.stat().st_size if path.is_file() else 0
    if size != expected:
        raise AnchorError(f"{what} has {size} bytes, expected {expected}")


def _rgb_file_to_yuv(rgb_path: Path, geometry: Geometry, frames: int, bit_depth: int,
                     yuv_path: Path) -> None:
    with yuv_path.open("wb") as handle:
        for rgb in rawio.read_rgb_chunks(rgb_path, geometry, frames):
            planes = colour.rgb_to_yuv420(rgb)
            if bit_depth > 8:
                planes = tuple(colour.to_10bit(p) for p in planes)  # type: ignore[assignment]
            rawio.write_yuv420(handle, planes, bit_depth)


def _yuv_file_to_rgb(yuv_path: Path, geometry: Geometry, frames: int, bit_depth: int,
                     rgb_path: Path) -> None:
    with rgb_path.open("wb") as handle:
        for planes in rawio.read_yuv420_chunks(yuv_path, geometry, frames, bit_depth):
            if bit_depth > 8:
                planes = tuple(colour.from_10bit(p) for p in planes)  # type: ignore[assignment]
            rawio.write_rgb(handle, colour.yuv420_to_rgb(*planes))
