"""Encoding a video on the spot, in a background thread whose progress the page polls.

The uploaded video is face-cropped to 256x256 at 25 fps like the test sequences
(conformance/sequence_preparation.py, the library of ifvc-prepare-sequences), or taken at its
own size when asked, and encoded with the reference encoder (ref_encoder.encoder.Encoder,
the Python API of ifvc-encode) at the key-frame QP given; the stream then opens as a session.
"""
from __future__ import annotations

import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")        # MediaPipe's C++ logging

from bitstream.keyframe_vvc import ToolMissingError  # noqa: E402
from conformance.sequence_preparation import PrepareError, output_names, prepare_clip  # noqa: E402
from ref_encoder.analysis import NoFaceError  # noqa: E402
from ref_encoder.encoder import Encoder, EncoderConfig  # noqa: E402
from ref_encoder.keyframe_coding import KeyframeCodingError  # noqa: E402
from ref_encoder.video_input import InputError, iter_frames, probe  # noqa: E402

MAX_ENCODE_FRAMES = 250          # 10 s at 25 fps: an encode on the spot stays interactive
MAX_ENCODE_SIDE = 1024           # without the face crop, the largest picture side (level 3.0)
MAX_JOBS = 8


@dataclass
class EncodeJob:
    """One encode: its state for the page (``state``: running, done or failed)."""
    job_id: str
    name: str
    state: str = "running"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    message: str = ""
    result: object = None        # the session id once opened
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **changes: object) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(self, k, v)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"job": self.job_id, "name": self.name, "state": self.state, "stage": self.stage,
                    "done": self.done, "total": self.total, "message": self.message,
                    "session": self.result}


def encode_video(path: Path, name: str, qp: int, face_crop: bool, job: EncodeJob,
                 max_frames: int = MAX_ENCODE_FRAMES) -> bytes:
    """The IFVC stream of a video file (its first max_frames frames, at most MAX_ENCODE_FRAMES)."""
    max_frames = min(max_frames, MAX_ENCODE_FRAMES)
    with tempfile.TemporaryDirectory(prefix="ifvc-studio-") as tmp:
        source = path
        width = height = None
        if face_crop:
            job.update(stage="finding the face and cropping to 256x256, 25 fps")
            entry = prepare_clip(path, Path(tmp), max_frames, "", "")
            source = Path(tmp) / output_names(path.stem)["rgb"]
            width = height = 256
        info = probe(source, width, height, Fraction(25) if face_crop else None)
        n = min(info.num_frames, max_frames) if info.num_frames else max_frames
        if max(info.width, info.height) > MAX_ENCODE_SIDE or info.width % 2 or info.height % 2:
            raise InputError(f"{name} is {info.width}x{info.height}: without the face crop the picture "
                             f"must have even sides of at most {MAX_ENCODE_SIDE} pixels")
        job.update(stage="encoding", total=n, done=0)
        enc = Encoder(EncoderConfig(keyframe_qp=qp), info.width, info.height, info.fps,
                      num_frames=n, warn=lambda msg: None)
        result = enc.encode(iter_frames(source, info, n), progress=lambda k: job.update(done=k))
        if face_crop and entry.warnings:
            job.update(message="; ".join(entry.warnings))
        return result.stream


class JobRunner:
    """Runs encodes in background threads; ``open_stream`` turns the stream into a session."""

    def __init__(self, open_stream: Callable[[bytes, str], str]) -> None:
        self.open_stream = open_stream
        self.jobs: dict[str, EncodeJob] = {}
        self._lock = threading.Lock()

    def start(self, path: Path, name: str, qp: int, face_crop: bool, cleanup: Callable[[], None],
              max_frames: int = MAX_ENCODE_FRAMES) -> EncodeJob:
        job = EncodeJob(uuid.uuid4().hex, name)
        with self._lock:
            if sum(j.state == "running" for j in self.jobs.values()) >= 1:
                cleanup()
                raise ValueError("an encode is already running; wait for it to finish")
            while len(self.jobs) >= MAX_JOBS:
                self.jobs.pop(next(iter(self.jobs)))
            self.jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job, path, name, qp, face_crop, cleanup, max_frames),
                         daemon=True).start()
        return job

    def _run(self, job: EncodeJob, path: Path, name: str, qp: int, face_crop: bool,
             cleanup: Callable[[], None], max_frames: int) -> None:
        try:
            stream = encode_video(path, name, qp, face_crop, job, max_frames)
            job.update(stage="opening the stream")
            session_id = self.open_stream(stream, Path(name).stem + ".ifvc")
            job.update(state="done", stage="done", result=session_id)
        except (InputError, PrepareError, NoFaceError, KeyframeCodingError, ToolMissingError, ValueError) as exc:
            job.update(state="failed", message=f"cannot encode {name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a background thread must report, never die silently
            job.update(state="failed", message=f"cannot encode {name}: {type(exc).__name__}: {exc}")
        finally:
            cleanup()

    def get(self, job_id: str) -> EncodeJob | None:
        with self._lock:
            return self.jobs.get(job_id)
