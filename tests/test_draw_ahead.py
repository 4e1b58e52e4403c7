"""Drawing a unit's pictures ahead on worker threads (ref_encoder/draw_ahead.py): the pool's
order, cancelling and draining, and that the encoder's stream does not depend on the thread
count (a real clip with refresh cuts and the correction grid)."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from fractions import Fraction

import pytest

from ref_encoder.draw_ahead import DrawAhead
from ref_encoder.encoder import Encoder, EncoderConfig


def test_one_thread_is_no_pool_and_zero_is_refused() -> None:
    assert not DrawAhead(1).active
    assert DrawAhead(2).active
    with pytest.raises(ValueError, match="at least 1"):
        DrawAhead(0)


def test_the_pool_runs_as_many_jobs_at_once_as_threads_and_returns_each_result() -> None:
    gate = threading.Event()
    started = threading.Semaphore(0)

    def blocker() -> int:
        started.release()
        gate.wait(5)
        return 7

    ahead = DrawAhead(2)
    blocking = [ahead.submit(blocker) for _ in range(2)]
    assert started.acquire(timeout=5) and started.acquire(timeout=5)   # both workers are busy
    third = ahead.submit(pow, 3, 2)
    assert not third.done() and not third.running()   # no third worker: it waits in the queue
    gate.set()
    assert [f.result(5) for f in blocking] == [7, 7] and third.result(5) == 9
    ahead.close()


def test_drain_drops_queued_jobs_and_waits_for_running_ones() -> None:
    gate = threading.Event()
    started = threading.Semaphore(0)
    finished: list[int] = []

    def blocker() -> None:
        started.release()
        gate.wait(5)
        finished.append(0)

    ahead = DrawAhead(2)
    running = [ahead.submit(blocker) for _ in range(2)]
    assert started.acquire(timeout=5) and started.acquire(timeout=5)   # both workers are busy
    queued = [ahead.submit(finished.append, k) for k in (1, 2, 3)]
    drainer = threading.Thread(target=ahead.drain)
    drainer.start()
    deadline = time.monotonic() + 5       # drain cancels the queue first ...
    while not all(f.cancelled() for f in queued) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert all(f.cancelled() for f in queued)
    assert drainer.is_alive()             # ... then waits for the running jobs
    gate.set()
    drainer.join(5)
    assert not drainer.is_alive() and all(f.done() and not f.cancelled() for f in running)
    assert finished == [0, 0]             # the queued jobs never ran
    ahead.close()


def test_a_cancelled_job_never_runs_and_a_workers_error_reaches_the_caller() -> None:
    gate = threading.Event()
    ran: list[int] = []
    ahead = DrawAhead(2)
    blocking = [ahead.submit(gate.wait, 5) for _ in range(2)]
    dropped = ahead.submit(ran.append, 1)
    dropped.cancel()                      # both workers are held by the gate: it has not started
    failing = ahead.submit(lambda: 1 // 0)
    gate.set()
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    assert all(f.result(5) for f in blocking) and dropped.cancelled() and ran == []
    ahead.close()


@pytest.mark.parametrize("picture, pose_fit", [("generator", False), ("shown", False), ("generator", True)])
def test_real_clip_the_stream_is_the_same_for_one_and_two_threads(shared_data, picture: str, pose_fit: bool) -> None:  # type: ignore[no-untyped-def]
    """liveportrait_driving_d20 (the camera tilts, the head moves), 40 frames, raw key frames,
    the correction grid on and adaptive refresh at a threshold that cuts units: the streams
    with 1 and 2 threads are identical, so a picture drawn ahead, a job dropped at a cut and
    the drain before each new key frame change nothing, with the pose fit too (its reduced
    references set up on a thread, frames fitted again after a cut against the new key frame)."""
    from conformance.streams_vvc import _clip_frames
    frames = _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d20.mp4", 40)
    cfg = EncoderConfig(keyframe_codec="raw", keyframe_qp=32, correction_grid="on", refresh=28.0,
                        refresh_check_every=1, refresh_picture=picture, pose_fit=pose_fit)
    results = [Encoder(replace(cfg, threads=n), 256, 256, Fraction(25)).encode(frames) for n in (1, 2)]
    keys = [sum(f.kind == "key" for f in r.frames) for r in results]
    assert keys[0] >= 3, f"the threshold should cut units on this clip ({keys[0]} key frames)"
    assert results[0].stream == results[1].stream
    assert results[0].correction is not None and results[0].correction.coded > 0
    if pose_fit:
        fits = [r.pose_fit for r in results]
        assert fits[0] is not None and fits[0].moved > 0 and fits[0] == replace(fits[1], seconds=fits[0].seconds)


def test_encoder_refuses_zero_threads() -> None:
    with pytest.raises(ValueError, match="thread count"):
        Encoder(EncoderConfig(keyframe_codec="raw", threads=0), 64, 64, Fraction(25))


def test_a_mirrors_reference_set_up_on_a_thread_draws_the_same_and_raises_its_error_on_use() -> None:
    """DecoderMirror.in_background: the new reference is set up on its own thread; the first use
    of the generator waits for it and draws what the plain set-up draws, and a set-up that fails
    raises its error there."""
    from pathlib import Path

    import numpy as np

    from bitstream.errors import BitstreamError
    from ifvc_synthesis.generators import Reference
    from ref_decoder.decoder import Decoder
    from ref_encoder.decoder_mirror import DecoderMirror

    stream = Path(__file__).resolve().parents[1] / "conformance" / "streams" / "face_background_motion_geometric3_cabac.ifvc"
    dec = Decoder()
    frames = list(dec.decode(stream.read_bytes()))
    (_, ref), = list(dec.references)
    values = np.asarray(frames[5].values, np.float64)
    pictures = []
    for background in (False, True):
        mirror = DecoderMirror("ifvc-geometric-3", 1, "--test")
        mirror.in_background = background
        mirror.add_keyframe(ref)
        pictures.append(mirror.generator.synthesize(values))
    assert np.array_equal(pictures[0], pictures[1])
    broken = DecoderMirror("ifvc-geometric-3", 1, "--test")
    broken.in_background = True
    broken.add_keyframe(Reference(ref.frame_idx, ref.rgb, ref.values, b"\x07 not a geometry payload", 2))
    with pytest.raises(BitstreamError, match="gp2_reserved_zero_3bits"):
        broken.generator.synthesize(values)
