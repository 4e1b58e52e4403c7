"""Coding one cell: the stream and the decoded .rgb of a codec at one rate point.

Anchors go through anchors.runner (idempotent, it names the encoder that made each stream).
IFVC is encoded by the reference encoder's CLI in a child process (MediaPipe's native logging
stays out of the campaign's progress) and decoded in-process by ref_decoder.Decoder, which
also tells which generator (name, weights SHA-256) synthesised the frames.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anchors.configs import load_config as load_anchor_config
from anchors.errors import AnchorError
from anchors.runner import AnchorJob, run_anchor
from ifvc_common.outputs import OutputTransaction

from .cells import Cell
from .config import CampaignConfig
from .rates import RateCount, anchor_rate, ifvc_rate
from .sequences import REPO_ROOT

TMP_PREFIX = ".campaign-tmp-"
ENCODER_ENTRY = "import sys; from ref_encoder.cli import main; sys.exit(main(sys.argv[1:]))"


class CellError(Exception):
    """One cell failed (encoder error, decoder error, hash mismatch); the others go on."""


@dataclass
class CodingOutcome:
    stream_path: Path
    decoded_path: Path
    bits: int
    kbps: float
    encoder: str
    encoder_version: str | None
    tool_version: str | None
    encode_seconds: float
    decode_seconds: float
    rate: RateCount                    # all bits and the GFVC payload-only count (rates.py)
    bits_by_unit_type: dict[str, int] = field(default_factory=dict)
    generator_name: str | None = None
    generator_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def code_cell(config: CampaignConfig, cell: Cell, out_dir: Path) -> CodingOutcome:
    folder = cell.folder(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if cell.codec.kind == "anchor":
        return _code_anchor(config, cell, folder)
    return _code_ifvc(config, cell, folder)


def _code_anchor(config: CampaignConfig, cell: Cell, folder: Path) -> CodingOutcome:
    assert cell.codec.anchor_codec is not None
    job = AnchorJob(codec=cell.codec.anchor_codec, qp=cell.point, input_path=cell.sequence.path,
                    out_dir=folder, width=config.width, height=config.height, fps=config.fps,
                    frames=cell.sequence.frames, preset=cell.codec.preset,
                    vtm_encoder=cell.codec.vtm_path("vtm_encoder"),
                    vtm_decoder=cell.codec.vtm_path("vtm_decoder"),
                    vtm_cfg=cell.codec.vtm_path("vtm_cfg"))
    try:
        result = run_anchor(job, progress=None)
        standard = load_anchor_config(cell.codec.anchor_codec).standard
    except AnchorError as error:
        raise CellError(str(error)) from None
    rate = anchor_rate(Path(result.stream_path).read_bytes(), standard)
    return CodingOutcome(
        stream_path=Path(result.stream_path), decoded_path=Path(result.output_path),
        bits=result.bits, kbps=result.kbps, encoder=result.encoder,
        encoder_version=result.encoder_version, tool_version=result.tool_version,
        encode_seconds=result.encode_seconds, decode_seconds=result.decode_seconds, rate=rate,
        extra={"anchor_result": Path(result.stream_path).with_suffix(".json").name,
               "anchor_config": result.config_name, "anchor_job_hash": result.job_hash,
               "anchor_preset": result.preset})


def _code_ifvc(config: CampaignConfig, cell: Cell, folder: Path) -> CodingOutcome:
    base = f"{cell.sequence.name}_{cell.codec.name}_qp{cell.point}"
    stream_path = folder / f"{base}.ifvc"
    decoded_path = folder / f"{base}.rgb"
    log_path = folder / f"{base}.encoder_log.csv"
    tmp_prefix = f"{TMP_PREFIX}{cell.codec.name}-qp{cell.point}-"
    for stale in folder.glob(tmp_prefix + "*"):   # left by a killed run of this very cell
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=tmp_prefix, dir=folder)).absolute()
    try:
        stream_tmp, log_tmp = work / "stream.ifvc", work / "encoder_log.csv"
        # Called as the `ifvc-encode` entry point does (import, then main()), so the whole
        # module is defined before main runs.
        # The encoder runs in our working directory (relative paths in encoder_args are
        # relative to it, as everywhere); PYTHONPATH lets `-c` import this repository's code.
        argv = [sys.executable, "-c", ENCODER_ENTRY, str(cell.sequence.path.resolve()),
                "--width", str(config.width), "--height", str(config.height),
                "--fps", f"{config.fps:g}", "--qp", str(cell.point),
                "--frames", str(cell.sequence.frames), "-o", str(stream_tmp),
                "--log", str(log_tmp), "--quiet", *cell.codec.encoder_args]
        start = time.perf_counter()
        env = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        process = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        encode_seconds = time.perf_counter() - start
        if process.returncode != 0:
            raise CellError(f"IFVC encoder failed (exit {process.returncode}): "
                            f"{_error_line(process.stderr)}")
        data = stream_tmp.read_bytes()
        start = time.perf_counter()
        generator_name, generator_sha = _decode_ifvc(data, cell.sequence.frames,
                                                     work / "decoded.rgb")
        decode_seconds = time.perf_counter() - start
        bits = 8 * len(data)
        rate = ifvc_rate(data)
        units = _bits_by_unit_type(log_tmp)
        with OutputTransaction() as outputs:
            outputs.adopt(stream_tmp, stream_path)
            outputs.adopt(work / "decoded.rgb", decoded_path)
            outputs.adopt(log_tmp, log_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return CodingOutcome(
        stream_path=stream_path, decoded_path=decoded_path, bits=bits,
        kbps=bits / 1000.0 / (cell.sequence.frames / config.fps),
        encoder="IFVC ref_encoder", encoder_version=None, tool_version=None,
        encode_seconds=round(encode_seconds, 3), decode_seconds=round(decode_seconds, 3),
        rate=rate, bits_by_unit_type=units, generator_name=generator_name, generator_sha256=generator_sha,
        extra={"encoder_command": "ifvc-encode " + " ".join(argv[3:]), "encoder_log": log_path.name})


def _decode_ifvc(data: bytes, frames: int, out_path: Path, generator_name: str | None = None) -> tuple[str, str]:
    """Decode to an RGB 4:4:4 planar file; checks the frame count, order and hash units.
    generator_name (benchmarks: tools/bench_decoder.py) synthesises with that registered
    generator instead of the stream's; returns the (name, weights SHA-256 hex) used."""
    try:
        from ref_decoder.decoder import Decoder
        from ifvc_synthesis.generators import get_generator
    except ImportError as error:  # the generator package may be mid-development
        raise CellError(f"IFVC decoder does not import: {error}") from None
    generator = None if generator_name is None else get_generator(generator_name)
    decoder = Decoder(generator=generator)
    count = 0
    try:
        with open(out_path, "wb") as handle:
            for frame in decoder.decode(data):
                if frame.frame_idx != count:
                    raise CellError(f"IFVC decoder gave frame {frame.frame_idx} where frame "
                                    f"{count} was expected (leading frames without a face?)")
                handle.write(frame.rgb.transpose(2, 0, 1).tobytes())
                count += 1
    except CellError:
        raise
    except Exception as error:  # noqa: BLE001 - any decoder failure fails this cell only
        raise CellError(f"IFVC decoder failed: {type(error).__name__}: {error}") from None
    if count != frames:
        raise CellError(f"IFVC decoder gave {count} frames, {frames} were coded")
    if not decoder.hashes.ok:
        raise CellError(f"IFVC hash check failed: {', '.join(decoder.hashes.mismatches)}")
    assert decoder.sh is not None
    if generator is not None:
        return generator.name, generator.weights_sha256.hex()
    return decoder.sh.sh_generator_name, bytes(decoder.sh.sh_generator_sha256).hex()


def _bits_by_unit_type(log_path: Path) -> dict[str, int]:
    """Bits per unit type from the encoder's log (its second table: one row per unit)."""
    text = log_path.read_text()
    _, _, units = text.partition("\nunit_index,")
    totals: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO("unit_index," + units)):
        if row.get("unit_type"):
            totals[row["unit_type"]] = totals.get(row["unit_type"], 0) + 8 * int(row["bytes"])
    return totals


def _error_line(stderr: str) -> str:
    """The line of a child's stderr that says what went wrong (not MediaPipe's chatter)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() and not line.startswith(("W0000", "I0000", "INFO:")):
            return line
    return lines[-1] if lines else "no message"
