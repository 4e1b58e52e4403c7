"""Drawing and pose-fitting in worker processes (ref_encoder/draw_ahead.py, draw_worker.py):
a worker's answers are the encoder's own, a dropped job is skipped, a worker's error and its
end reach the caller, and the encoder's stream does not depend on the thread count (a real
clip with refresh cuts, the correction grid and the pose fit)."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from ref_encoder.draw_ahead import DrawAhead, DrawWorkerError
from ref_encoder.encoder import Encoder, EncoderConfig

STREAM = Path(__file__).resolve().parents[1] / "conformance" / "streams" / "face_background_motion_geometric3_cabac.ifvc"


def _reference_and_values():  # type: ignore[no-untyped-def]
    """A decoded key frame (Reference) of a conformance stream and the values of its frame 5."""
    from ref_decoder.decoder import Decoder
    dec = Decoder()
    frames = list(dec.decode(STREAM.read_bytes()))
    (_, ref), = list(dec.references)
    return ref, np.asarray(frames[5].values, np.float64)


def _here(generator: str, fitter=None):  # type: ignore[no-untyped-def]
    """A DrawAhead local function (draw_worker.do_job) drawing with a mirror of this generator
    (and fitting with fitter), and the list of the jobs it did."""
    from ref_encoder.decoder_mirror import DecoderMirror
    from ref_encoder.draw_worker import do_job
    mirror = DecoderMirror(generator, 2, "--test")
    done: list[str] = []

    def local(kind, values, source):  # type: ignore[no-untyped-def]
        done.append(kind)
        return do_job(kind, values, source, mirror=mirror, chooser=None, fitter=fitter)
    return mirror, local, done


def test_no_worker_is_inactive_and_a_negative_count_is_refused() -> None:
    _, local, _ = _here("ifvc-geometric-3")
    assert not DrawAhead(0, local).active
    with pytest.raises(ValueError, match="at least 0"):
        DrawAhead(-1, local)


def test_a_workers_picture_and_pose_fit_are_the_encoders_own() -> None:
    from ref_encoder.pose_fit import PoseFit
    ref, values = _reference_and_values()
    steps = {i: 1 / 64 for i in range(6)}
    mirror, local, _ = _here("ifvc-geometric-3")
    mirror.add_keyframe(ref)
    fitter = PoseFit("ifvc-geometric-3", 2, steps)
    fitter.add_keyframe(ref)
    source = mirror.generator.synthesize(values + np.r_[0.02, -0.01, 0.0, 1.5, 0.0, 0.0, np.zeros(len(values) - 6)])
    ahead = DrawAhead(1, local, "ifvc-geometric-3", 2, fit=("ifvc-geometric-3", steps))
    try:
        ahead.add_keyframe(ref)
        drawn, fitted = ahead.draw(values), ahead.fit(values, source)
        picture, proposal, share = drawn.future.result(60)
        assert proposal is None           # no sequence header given: no correction fitted
        assert share is None              # not asked for
        assert np.array_equal(picture, mirror.generator.synthesize(values))
        fit_values, stats = fitted.future.result(60)
        assert np.array_equal(fit_values, fitter.fit(values, source))
        assert stats.fitted == 1 and stats.synthesised == fitter.stats.synthesised
        assert replace(stats, seconds=0.0) == replace(fitter.stats, seconds=0.0)
        # done here instead: the same values and the same fit's stats; the fitter's own stay as they were
        from ref_encoder.draw_worker import do_job
        before = replace(fitter.stats)
        here_values, here_stats = do_job("fit", values, source, mirror=None, chooser=None, fitter=fitter)
        assert np.array_equal(here_values, fit_values) and fitter.stats == before
        assert replace(here_stats, seconds=0.0) == replace(stats, seconds=0.0)
    finally:
        ahead.close()


def test_a_worker_measures_the_invented_share_of_the_picture_it_draws() -> None:
    """invented=True: each picture comes with the invented share of the field that drew it
    (adaptive_refresh.invented_share), the same from the worker as from this thread."""
    from ref_encoder.adaptive_refresh import invented_share
    from ref_encoder.draw_worker import do_job
    ref, values = _reference_and_values()
    mirror, _, _ = _here("ifvc-geometric-3")
    mirror.add_keyframe(ref)
    # the head moved down by 0.3 of the picture: its top rows come from above the key picture
    moved = values.copy()
    moved[4] += 0.3
    local = partial(do_job, mirror=mirror, chooser=None, fitter=None, invented=True)
    ahead = DrawAhead(1, local, "ifvc-geometric-3", 2, invented=True)
    try:
        ahead.add_keyframe(ref)
        for v in (values, moved):
            picture, proposal, share = ahead.draw(v).future.result(60)
            expected, map_x, map_y, layers, _ = mirror.generator.synthesize_with_layers(v)
            assert np.array_equal(picture, expected) and proposal is None
            assert share == invented_share(map_x, map_y, layers.person_alpha)
            assert local("draw", v, None)[2] == share
        assert share > 0.0
    finally:
        ahead.close()


def test_take_does_a_dropped_job_here_and_every_answer_is_the_same_picture() -> None:
    ref, values = _reference_and_values()
    mirror, local, done = _here("ifvc-geometric-3")
    mirror.add_keyframe(ref)
    expected = mirror.generator.synthesize(values)
    ahead = DrawAhead(1, local, "ifvc-geometric-3", 1)
    try:
        ahead.add_keyframe(ref)
        jobs = [ahead.draw(values) for _ in range(4)]
        assert jobs[1].cancel() and jobs[1].cancelled()
        assert np.array_equal(ahead.take(jobs[1])[0], expected) and done   # dropped: drawn here
        # the rest, whoever draws each (the worker, or this thread while it waits): the same bytes
        assert all(np.array_equal(ahead.take(j)[0], expected) for j in (jobs[0], jobs[3], jobs[2]))
        ahead.drain()                     # nothing is left unanswered to drop
    finally:
        ahead.close()


def test_a_workers_error_and_its_end_reach_the_caller() -> None:
    from ifvc_synthesis.generators import Reference
    ref, values = _reference_and_values()
    _, local, _ = _here("ifvc-geometric-3")
    ahead = DrawAhead(1, local, "ifvc-geometric-3", 1)
    try:
        ahead.add_keyframe(Reference(ref.frame_idx, ref.rgb, ref.values, b"\x07 not a geometry payload", 2))
        with pytest.raises(DrawWorkerError, match="gp2_reserved_zero_3bits"):
            ahead.draw(values).future.result(60)
        worker = ahead._workers[0]
        worker._process.kill()
        worker._process.wait(10)
        with pytest.raises(DrawWorkerError, match="ended unexpectedly"):
            for _ in range(100):          # the pipe may take a write or two to report the end
                ahead.draw(values).future.result(60)
    finally:
        ahead.close()
    assert worker._process.poll() is not None


def test_close_ends_the_worker_processes() -> None:
    _, local, _ = _here("ifvc-geometric-3")
    ahead = DrawAhead(2, local, "ifvc-geometric-3", 1)
    processes = [w._process for w in ahead._workers]
    ahead.close()
    assert not ahead.active and all(p.poll() is not None for p in processes)


@pytest.mark.parametrize("picture, pose_fit, threads", [("generator", False, (1, 2)), ("shown", False, (1, 2)),
                                                       ("generator", True, (1, 2, 3))])
def test_real_clip_the_stream_is_the_same_for_any_thread_count(shared_data, picture: str, pose_fit: bool,  # type: ignore[no-untyped-def]
                                                              threads: tuple[int, ...]) -> None:
    """liveportrait_driving_d20 (the camera tilts, the head moves), 40 frames, raw key frames,
    the correction grid on and adaptive refresh at a threshold that cuts units: the streams
    with 1, 2 (and 3) threads are identical, so a picture drawn in a worker process or on the
    encoder's thread (take), a job dropped at a cut, and the references handed over at each new
    key frame change nothing, with the pose fit too (fits asked of the workers while the next
    frames are read, frames after a cut fitted again against the new key frame)."""
    from conformance.streams_vvc import _clip_frames
    frames = _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d20.mp4", 40)
    cfg = EncoderConfig(keyframe_codec="raw", keyframe_qp=32, correction_grid="on", refresh=28.0,
                        refresh_check_every=1, refresh_picture=picture, pose_fit=pose_fit)
    results = [Encoder(replace(cfg, threads=n), 256, 256, Fraction(25)).encode(frames) for n in threads]
    keys = [sum(f.kind == "key" for f in r.frames) for r in results]
    assert keys[0] >= 3, f"the threshold should cut units on this clip ({keys[0]} key frames)"
    assert all(r.stream == results[0].stream for r in results[1:])
    assert results[0].correction is not None and results[0].correction.coded > 0
    if pose_fit:
        fits = [r.pose_fit for r in results]
        assert fits[0] is not None and fits[0].moved > 0
        assert all(f == replace(fits[0], seconds=f.seconds) for f in fits[1:])  # type: ignore[arg-type]


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
