"""Command-line hardening (ifvc_common): no command destroys an input, a failed or interrupted
run leaves no output, usage errors are one line with exit status 2, --version, --help with
defaults and exit codes, ifvc-decode --md5. The commands run as real processes
(``sys.executable -m MODULE``, cwd = repository root), as a user starts them."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitstream.generator_registry import DEFAULT_GENERATOR_NAME
from bitstream.stream import StreamWriter
from conformance.stream_kit import header, raw_picture, trajectory_levels
from ifvc_common import version as version_module
from ifvc_common.argtypes import int_range
from ifvc_common.outputs import OutputTransaction

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
LONG_FRAMES = 2000          # far more than the decoder reaches before the test signals it


def _run(*args: str | Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if line.strip()]


def _synthetic_stream(num_frames: int, size: int) -> bytes:
    """A raw-key-frame stream with talking-head semantics (16 frames per semantic unit)."""
    sh = header(width=size, height=size)
    levels = trajectory_levels(sh, num_frames, seed=3)
    writer = StreamWriter(sh)
    writer.keyframe(raw_picture(sh), levels[0])
    for first in range(1, num_frames, 16):
        writer.semantic_unit(levels[first:first + 16])
    writer.hash_unit()
    writer.end_of_sequence()
    return writer.getvalue()


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("streams")
    paths = {"short": folder / "short.ifvc", "long": folder / "long.ifvc"}
    paths["short"].write_bytes(_synthetic_stream(40, 64))
    paths["long"].write_bytes(_synthetic_stream(LONG_FRAMES, 256))
    return paths


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- an output that is an input is refused before anything is read or written -------------

def _aliases(target: Path, kind: str) -> Path:
    """Another name of ``target``: the same path, a ./ and .. detour, a symbolic or hard link."""
    if kind == "same":
        return target
    if kind == "dots":
        (target.parent / "sub").mkdir(exist_ok=True)
        return target.parent / "." / "sub" / ".." / target.name
    alias = target.with_name(f"alias_{kind}{target.suffix}")
    (os.symlink if kind == "symlink" else os.link)(target, alias)
    return alias


ALIASES = ["same", "dots", "symlink", "hardlink"]


def _assert_refused(proc: subprocess.CompletedProcess[str], source: Path, digest: str, folder: Path,
                    before: set[str]) -> None:
    lines = _error_lines(proc)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "is the same file as input" in lines[0], lines
    assert _sha(source) == digest                      # the input is byte for byte intact
    assert {p.name for p in folder.iterdir()} == before   # and nothing was written beside it


@pytest.mark.parametrize("kind", ALIASES)
@pytest.mark.parametrize("suffix", [".rgb", ".mp4"])
def test_encode_refuses_its_input_as_output(tmp_path: Path, kind: str, suffix: str) -> None:
    source = tmp_path / f"a{suffix}"
    source.write_bytes(bytes(range(256)) * 192)       # one 64x64 RGB frame (or any video bytes)
    digest, out = _sha(source), _aliases(source, kind)
    before = {p.name for p in tmp_path.iterdir()}
    proc = _run("-m", "ref_encoder.cli", source, "--width", "64", "--height", "64", "-o", out, "--quiet")
    _assert_refused(proc, source, digest, tmp_path, before)


@pytest.mark.parametrize("kind", ALIASES)
@pytest.mark.parametrize("option", ["-o", "--levels", "--semantics"])
def test_decode_refuses_its_stream_as_output(tmp_path: Path, streams: dict[str, Path], kind: str,
                                            option: str) -> None:
    source = tmp_path / "s.ifvc"
    source.write_bytes(streams["short"].read_bytes())
    digest = _sha(source)
    out = _aliases(source, kind)
    if option != "-o" and kind in ("symlink", "hardlink"):     # those outputs need their own suffix
        out = out.rename(out.with_suffix(".csv"))
    before = {p.name for p in tmp_path.iterdir()}
    proc = _run("-m", "ref_decoder.cli", source, option, out, "--quiet")
    _assert_refused(proc, source, digest, tmp_path, before)


@pytest.mark.parametrize("kind", ALIASES)
def test_edit_refuses_its_stream_as_output(tmp_path: Path, streams: dict[str, Path], kind: str) -> None:
    source = tmp_path / "s.ifvc"
    source.write_bytes(streams["short"].read_bytes())
    digest, out = _sha(source), _aliases(source, kind)
    before = {p.name for p in tmp_path.iterdir()}
    proc = _run("-m", "tools.bitstream_editor", source, "-o", out, "--edit", "head_yaw:offset=5@2-9")
    _assert_refused(proc, source, digest, tmp_path, before)


@pytest.mark.parametrize("kind", ALIASES)
def test_character_refuses_its_picture_as_output(tmp_path: Path, kind: str) -> None:
    import cv2
    import numpy as np
    source = tmp_path / "p.png"
    assert cv2.imwrite(str(source), np.full((32, 32, 3), 128, np.uint8))
    digest, out = _sha(source), _aliases(source, kind)
    before = {p.name for p in tmp_path.iterdir()}
    proc = _run("-m", "tools.make_character", source, "-o", out)
    _assert_refused(proc, source, digest, tmp_path, before)


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_prepare_sequences_refuses_a_clip_that_is_one_of_its_outputs(tmp_path: Path, kind: str) -> None:
    # a clip linked to an earlier output of the same run's --out (a re-run on its own results)
    out, raw = tmp_path / "out", tmp_path / "raw"
    out.mkdir()
    raw.mkdir()
    earlier = out / "clip_256x256_25_8bit_444.rgb"
    earlier.write_bytes(b"earlier output" * 100)
    (os.symlink if kind == "symlink" else os.link)(earlier, raw / "clip.mp4")
    digest, before = _sha(earlier), {p.name for p in out.iterdir()}
    proc = _run("-m", "tools.prepare_sequences", "--raw", raw, "--out", out)
    _assert_refused(proc, earlier, digest, out, before)


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_anchor_refuses_an_output_name_that_is_its_input(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "seq.rgb"
    source.write_bytes(bytes(range(256)) * 768)       # one 256x256 RGB frame
    (os.symlink if kind == "symlink" else os.link)(source, tmp_path / "seq_vvc_qp47.rgb")
    digest, before = _sha(source), {p.name for p in tmp_path.iterdir()}
    proc = _run("-m", "anchors.run", "--codec", "vvc", "--qp", "47", "--input", source, "--out", tmp_path)
    _assert_refused(proc, source, digest, tmp_path, before)


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path, streams: dict[str, Path]) -> None:
    proc = _run("-m", "ref_decoder.cli", streams["short"], "--levels", tmp_path / "x.csv",
                "--semantics", tmp_path / "." / "x.csv")
    assert proc.returncode == 2 and "are the same file" in _error_lines(proc)[0]
    assert not list(tmp_path.iterdir())


# --- missing output folders are refused, never created -----------------------------------

@pytest.mark.parametrize("module,args", [
    ("ref_encoder.cli", ["{source}", "--width", "64", "--height", "64", "-o", "{out}"]),
    ("ref_decoder.cli", ["{stream}", "-o", "{out}"]),
    ("tools.bitstream_editor", ["{stream}", "-o", "{out}", "--edit", "head_yaw:set=1@0"]),
])
def test_missing_output_folder_is_refused(tmp_path: Path, streams: dict[str, Path], module: str,
                                          args: list[str]) -> None:
    source = tmp_path / "a.rgb"
    source.write_bytes(bytes(64 * 64 * 3))
    out = tmp_path / "nodir" / "x" / ("o.rgb" if module == "ref_decoder.cli" else "o.ifvc")
    proc = _run("-m", module, *(a.format(source=source, out=out, stream=streams["short"]) for a in args))
    lines = _error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1
    assert f"output folder {out.parent} does not exist" in lines[0]
    assert not (tmp_path / "nodir").exists()


# --- a failed run leaves no output ---------------------------------------------------------

def test_decode_with_an_unwritable_levels_file_leaves_no_video(tmp_path: Path, streams: dict[str, Path]) -> None:
    proc = _run("-m", "ref_decoder.cli", streams["short"], "-o", tmp_path / "o.rgb",
                "--semantics", tmp_path / "s.csv", "--levels", "/proc/x.csv", "--quiet")
    lines = _error_lines(proc)
    assert proc.returncode == 1 and len(lines) == 1 and "/proc/x.csv" in lines[0]
    assert not list(tmp_path.iterdir())


def test_encode_with_an_unwritable_log_leaves_no_stream(shared_data: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np
    cap = cv2.VideoCapture(str(shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    seq = tmp_path / "in" / "s.rgb"
    seq.parent.mkdir()
    seq.write_bytes(np.ascontiguousarray(bgr[:256, :256, ::-1].transpose(2, 0, 1)).tobytes())
    out = tmp_path / "out"
    out.mkdir()
    proc = _run("-m", "ref_encoder.cli", seq, "--width", "256", "--height", "256", "--keyframe-codec", "raw",
                "-o", out / "s.ifvc", "--log", "/proc/x.csv", "--quiet")
    # (MediaPipe's TensorFlow Lite may print an INFO line of its own to stderr: not ours)
    lines = [line for line in _error_lines(proc) if "error" in line]
    assert proc.returncode == 1 and len(lines) == 1 and "/proc/x.csv" in lines[0], proc.stderr
    assert not list(out.iterdir())


def test_output_transaction_writes_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with OutputTransaction() as outputs:
            outputs.write_text(tmp_path / "a.txt", "new a")
            outputs.write_text(tmp_path / "b.txt", "new b")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"] and (tmp_path / "b.txt").read_text() == "old"
    with OutputTransaction() as outputs:
        outputs.write_text(tmp_path / "a.txt", "new a")
        outputs.write_text(tmp_path / "b.txt", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "b.txt").read_text() == "new b"


# --- interrupts: SIGINT and SIGTERM during a long decode -----------------------------------

@contextmanager
def _killed_on_exit(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """A process the block leaves running (a failed assertion) is killed and reaped."""
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _default_sigint() -> None:
    # A child of a non-interactive shell may inherit SIGINT as ignored; then Python keeps
    # ignoring it. A user's Ctrl-C reaches a decoder whose SIGINT is at its default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum,code,suffix", [(signal.SIGINT, 130, ".mp4"), (signal.SIGINT, 130, ".rgb"),
                                                (signal.SIGTERM, 143, ".mp4"), (signal.SIGTERM, 143, ".rgb")])
def test_interrupted_decode_exits_cleanly(tmp_path: Path, streams: dict[str, Path], signum: int, code: int,
                                          suffix: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "ref_decoder.cli", str(streams["long"]),
                             "-o", str(out / f"o{suffix}"), "--levels", str(out / "l.csv")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    assert proc.stderr is not None
    seen = b""
    with _killed_on_exit(proc):
        while b"decoded " not in seen:                 # the first progress message: mid-decode
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, f"decoder ended before its first progress message: {seen!r}"
            seen += chunk
        proc.send_signal(signum)
        _, rest = proc.communicate(timeout=120)
    err = (seen + rest).decode()
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    message = [line for line in err.replace("\r", "\n").splitlines() if "interrupted" in line]
    name = signal.Signals(signum).name
    assert message == [f"ifvc-decode: interrupted by {name}; no output written"]
    assert not list(out.iterdir())                     # no output, no .part or hidden temporary file


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_while_a_command_loads_exits_cleanly(tmp_path: Path, signum: int, code: int) -> None:
    """A Ctrl-C or SIGTERM while a console script still imports its command (numpy, OpenCV,
    PyTorch: a few tenths of a second) ends with the one line and 130 or 143, not a traceback.
    The stand-in command module signals that it is loading, then waits to be interrupted."""
    marker = tmp_path / "loading"
    (tmp_path / "slow_command.py").write_text(
        "import pathlib, time\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "time.sleep(120)\n"
        "def main(argv=None):\n    return 0\n")
    call = ("import sys; sys.path.insert(0, sys.argv[1]); from ifvc_common import launcher; "
            "launcher.COMMANDS['ifvc-encode'] = 'slow_command'; sys.exit(launcher.encode())")
    proc = subprocess.Popen([sys.executable, "-c", call, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    with _killed_on_exit(proc):
        for _ in range(6000):                          # up to 60 s for the interpreter to start
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.01)
        assert marker.exists(), "the stand-in command never started loading"
        proc.send_signal(signum)
        _, err_bytes = proc.communicate(timeout=60)
    err = err_bytes.decode()
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    name = signal.Signals(signum).name
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"ifvc-encode: interrupted by {name}; no output written"]


def test_every_console_script_goes_through_the_launcher() -> None:
    """pyproject.toml's scripts and ifvc_common.launcher.COMMANDS name the same commands; each
    script is the launcher's entry for it, whose module has a main."""
    import importlib

    from ifvc_common import launcher
    assert set(SCRIPTS) == set(launcher.COMMANDS)
    for name, target in SCRIPTS.items():
        module, func = target.split(":")
        assert module == "ifvc_common.launcher"
        assert getattr(launcher, func).__doc__ == f"The {name} console script."
        assert callable(importlib.import_module(launcher.COMMANDS[name]).main)


# --- --version, --help ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_version_and_help_of_every_script(name: str) -> None:
    module, func = SCRIPTS[name].split(":")
    call = f"import sys; from {module} import {func}; sys.exit({func}([sys.argv[1]]))"
    proc = _run("-c", call, "--version")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.fullmatch(rf"{name} \d+\.\d+\.\d+\S* \(IFVC specification \d+\.\d+( draft)?, streams of "
                        rf"version \d+\.\d+(, git [0-9a-f]+(-dirty)?)?\)\n", proc.stdout), proc.stdout
    proc = _run("-c", call, "--help")
    assert proc.returncode == 0
    assert "exit codes:" in proc.stdout and "130" in proc.stdout and "143" in proc.stdout


def test_help_shows_defaults() -> None:
    proc = _run("-m", "ref_encoder.cli", "--help")
    text = " ".join(proc.stdout.split())
    for shown in ("(default: 42)", "(default: 8)", "(default: cabac)", f"(default: {DEFAULT_GENERATOR_NAME})"):
        assert shown in text


def test_version_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_module, "REPO_ROOT", tmp_path)          # not a checkout
    assert version_module.git_revision() is None
    assert "git" not in version_module.version_text("ifvc-x")
    monkeypatch.setattr(version_module, "REPO_ROOT", REPO)
    monkeypatch.setenv("PATH", str(tmp_path))                           # a checkout, but no git
    assert version_module.git_revision() is None


# --- ifvc-decode --md5 ---------------------------------------------------------------------

def test_decode_md5_is_the_md5_of_the_rgb_output(tmp_path: Path, streams: dict[str, Path]) -> None:
    proc = _run("-m", "ref_decoder.cli", streams["short"], "-o", tmp_path / "o.rgb", "--md5", "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = re.search(r"MD5 of the decoded pictures \(planar RGB 4:4:4, 8 bits, 40 frames\): ([0-9a-f]{32})",
                        proc.stdout)
    assert printed, proc.stdout
    assert printed.group(1) == hashlib.md5((tmp_path / "o.rgb").read_bytes()).hexdigest()
    only = _run("-m", "ref_decoder.cli", streams["short"], "--md5", "--quiet")      # no output file needed
    assert only.returncode == 0 and printed.group(0) in only.stdout


def test_encoder_rate_split_covers_every_bit(streams: dict[str, Path]) -> None:
    from bitstream.units import UnitType, iter_units
    from ref_encoder.cli import bits_by_part
    data = streams["short"].read_bytes()
    parts = bits_by_part(data)
    assert list(parts) == ["sequence header", "key frames", "semantics", "hash", "end/framing"]
    assert sum(parts.values()) == 8 * len(data)
    units = list(iter_units(data))
    payload = {t: 8 * sum(len(u.payload) for u in units if u.unit_type == t) for t in UnitType}
    assert parts["key frames"] == payload[UnitType.KEYFRAME] > 0
    assert parts["semantics"] == payload[UnitType.SEMANTIC] > 0
    assert parts["end/framing"] == 8 * sum(u.header_size for u in units) + payload[UnitType.END_OF_SEQUENCE]


# --- numeric options: usage errors naming the option and the range -------------------------

BAD_NUMBERS = {
    "ref_encoder.cli": [["a.rgb", "-o", "b.ifvc", *opt] for opt in (
        ["--fps", "0"], ["--fps", "-25"], ["--fps", "x"], ["--keyframe-period", "-1"], ["--qp", "64"],
        ["--qp", "-1"], ["--frames", "0"], ["--frames-per-unit", "0"], ["--frames-per-unit", "65"],
        ["--width", "0"], ["--height", "-2"], ["--keyframe-pose-threshold", "-1"],
        ["--keyframe-pose-threshold", "nan"], ["--precision", "mouth_open=11"])],
    "tools.make_character": [["p.png", "-o", "c.ifvc", *opt] for opt in (
        ["--size", "15"], ["--size", "17"], ["--qp", "-1"])],
    "tools.roundtrip_demo": [["--frames", "1"], ["--fps", "0"], ["--frames-per-unit", "17"], ["--seed", "-1"]],
    "tools.e2e_demo": [["--frames", "1"], ["--qp", "99"]],
    "tools.prepare_sequences": [["--raw", "r", "--out", "o", "--max-frames", "0"]],
    "anchors.run": [["--codec", "vvc", "--input", "x.rgb", "--out", "o", *opt] for opt in (
        ["--qp", "-1"], ["--qp", "37", "--width", "0"], ["--qp", "37", "--fps", "0"],
        ["--qp", "37", "--frames", "0"])],
    "conformance.checker": [["--decoder", "d {stream} {output} {levels}", *opt] for opt in (
        ["--timeout", "0"], ["--jobs", "0"])],
    "conformance.campaign": [["run", "--out", "o", *opt] for opt in (
        ["--jobs", "0"], ["--threads", "0"], ["--frames", "0"], ["--vgg-stride", "0"],
        ["--connect-timeout", "0"])],
}


@pytest.mark.parametrize("module", sorted(BAD_NUMBERS))
def test_numeric_options_out_of_range_are_usage_errors(module: str) -> None:
    # one process per command: main() is called once per bad command line, as from a shell
    entry = "conformance.campaign.__main__" if module == "conformance.campaign" else module
    code = (f"import contextlib, io, json, sys\nfrom {entry} import main\nout = []\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        try:\n            rc = main(argv)\n"
            "        except SystemExit as exc:\n            rc = exc.code\n"
            "    out.append([rc, err.getvalue()])\n"
            "print(json.dumps(out))\n")
    proc = _run("-c", code, json.dumps(BAD_NUMBERS[module]))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for argv, (rc, err) in zip(BAD_NUMBERS[module], json.loads(proc.stdout)):
        option = next(a for a in reversed(argv) if a.startswith("--"))
        assert rc == 2, (argv, err)
        assert err.count("\n") == 1 and f"argument {option}: " in err and " must be " in err, (argv, err)


@given(st.integers(-100, 100), st.integers(-100, 100), st.integers(-300, 300))
def test_int_range_accepts_exactly_its_range(lo: int, hi: int, value: int) -> None:
    import argparse
    check = int_range(lo, hi)
    if lo <= value <= hi:
        assert check(str(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=f"in {lo}..{hi}"):
            check(str(value))

