"""The encoder starts VVenC on the first frame while MediaPipe loads (Encoder._start_first_picture)
and widens the pipes to its drawing process (draw_ahead._widen_pipe): both only change when
work is done, never what is written. The streams are compared with an encoder that codes the
first key frame in turn, on a real clip, also when the first frame shows no face (the early
picture is then not used)."""
from __future__ import annotations

import fcntl
import threading
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ref_encoder.encoder as encoder_module
from ref_encoder.encoder import Encoder, EncoderConfig

CONFIG = EncoderConfig(keyframe_qp=42, vvc_preset="faster", refresh="off", threads=1)


def _frames(shared_data: Path, count: int) -> list[np.ndarray]:
    from conformance.streams_vvc import _clip_frames
    return _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d20.mp4", count)


def _encode(frames: list[np.ndarray], early: bool, monkeypatch: pytest.MonkeyPatch,
            cfg: EncoderConfig = CONFIG) -> tuple[bytes, list[str], int]:
    """The stream, the names of the threads that ran VVenC, and the key frames coded."""
    from ref_encoder.keyframe_coding import encode_vvc_intra as plain
    threads: list[str] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return plain(*args, **kwargs)
    monkeypatch.setattr(encoder_module, "encode_vvc_intra", counted)
    enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
    if not early:
        monkeypatch.setattr(enc, "_start_first_picture", lambda frames, stack: frames)
    result = enc.encode(iter(frames))
    return result.stream, threads, sum(f.kind == "key" for f in result.frames)


def test_the_first_key_frame_coded_early_is_the_one_coded_in_turn(shared_data: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """12 frames with a key frame every 6: the early picture is the first key frame's (coded
    once, on the encoder's early thread); the stream is byte for byte the one coded in turn."""
    frames = _frames(shared_data, 12)
    cfg = replace(CONFIG, keyframe_period=6)
    early, early_threads, keys = _encode(frames, True, monkeypatch, cfg)
    plain, plain_threads, plain_keys = _encode(frames, False, monkeypatch, cfg)
    assert keys == plain_keys == 2
    assert early == plain
    assert early_threads[0].startswith("ifvc-first-key") and len(early_threads) == keys
    assert not any(name.startswith("ifvc-first-key") for name in plain_threads + early_threads[1:])


def test_a_first_frame_without_a_face_is_coded_early_and_not_used(shared_data: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A grey first frame (no face: skipped, Encoder.encode): its early picture is dropped, the
    key frame is the next frame's, coded in turn, and the stream is the one coded without the
    early start."""
    frames = [np.full((256, 256, 3), 128, np.uint8)] + _frames(shared_data, 6)
    early, early_threads, keys = _encode(frames, True, monkeypatch)
    plain, plain_threads, _ = _encode(frames, False, monkeypatch)
    assert early == plain and keys == 1
    assert early_threads[0].startswith("ifvc-first-key") and len(early_threads) == 2 == len(plain_threads) + 1


def test_a_workers_pipes_hold_a_picture_in_one_write() -> None:
    """Both pipes to a drawing process take PIPE_BYTES (a 256 x 256 picture is 196 KiB) where
    the system allows that many; elsewhere they keep the system's size."""
    from ref_encoder.draw_ahead import PIPE_BYTES, DrawAhead
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("this system cannot report a pipe's size (F_GETPIPE_SZ is Linux's)")
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    ahead = DrawAhead(1, lambda kind, values, source: (None, None))
    try:
        worker = ahead._workers[0]
        sizes = [fcntl.fcntl(f.fileno(), fcntl.F_GETPIPE_SZ) for f in (worker._out, worker._in)]
    finally:
        ahead.close()
    assert all(size >= PIPE_BYTES for size in sizes) if limit >= PIPE_BYTES else all(size <= limit for size in sizes)
