"""Multiple references (spec A.5 reference store, Annex G.6 selection) at the decoder, and the
encoder's adaptive refresh that runs the same synthesis (issue 14 items 3 and 4).

Synthetic streams and pictures only, except the encoder tests, which read a real clip of the
test split through the shared_data fixture (they skip without it)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.profiles import LEVELS, max_ref_frames
from bitstream.raw_video import read_rgb444
from bitstream.reference_store import ReferenceStore
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from conformance.stream_kit import Assembler, header, raw_picture, trajectory_levels
from ifvc_synthesis.generators import LayeredGenerator, MultiReferenceGenerator, Reference, get_generator
from ifvc_synthesis.reference_selection import POSE_SLACK, Q_SHIFT, fixed_point, select_references
from ref_decoder.decoder import Decoder
from tests.test_layered_generator import key_values, textured_picture

I = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}


# -- the reference store (normative, A.5) ---------------------------------------------------------
@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_store_keeps_the_newest_max_ref_frames_and_evicts_the_oldest(capacity: int, gaps: list[int]) -> None:
    store: ReferenceStore[int] = ReferenceStore(capacity)
    indices = list(np.cumsum(gaps) - gaps[0])
    evicted_all: list[int] = []
    for idx in indices:
        before = store.frame_indices()
        evicted = store.add(int(idx), int(idx))
        assert evicted == before[:max(0, len(before) - capacity + 1)]     # oldest first, only when full
        evicted_all += evicted
        assert len(store) <= capacity
    assert store.frame_indices() == [int(i) for i in indices[-capacity:]]
    assert evicted_all == [int(i) for i in indices[:-capacity]] if len(indices) > capacity else evicted_all == []


def test_store_refuses_key_frames_out_of_order_and_zero_capacity() -> None:
    store: ReferenceStore[str] = ReferenceStore(2)
    store.add(5, "a")
    with pytest.raises(ValueError):
        store.add(5, "b")
    with pytest.raises(ValueError):
        ReferenceStore(0)
    assert all(lim.max_ref_frames == 4 for lim in LEVELS.values()) and max_ref_frames(99) == 4


# -- the selection rule (informative, G.6) --------------------------------------------------------
values_strategy = st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=14, max_size=14)


@settings(derandomize=True, max_examples=80, deadline=None)
@given(values_strategy, values_strategy)
def test_one_reference_is_always_chosen_for_everything(target: list[float], ref: list[float]) -> None:
    sel = select_references(np.array(target) * 20, [np.array(ref) * 20])
    assert (sel.primary, sel.mouth, sel.eyes) == (0, 0, 0)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(0, 8), st.integers(-2 ** 20, 2 ** 20))
def test_fixed_point_is_exact_for_decoded_values(p: int, level: int) -> None:
    value = level * 2.0 ** -p                      # a dequantised value (spec 8.3.5)
    assert fixed_point(np.full(14, value)) == [level << (Q_SHIFT - p)] * 14


def test_pose_closest_reference_wins_ties_go_to_the_newest() -> None:
    base = key_values()
    refs = []
    for yaw in (0.0, 20.0, -20.0):
        v = base.copy()
        v[I["head_yaw"]] = yaw
        refs.append(v)
    target = base.copy()
    target[I["head_yaw"]] = 17.0
    assert select_references(target, refs).primary == 1
    target[I["head_yaw"]] = -30.0
    assert select_references(target, refs).primary == 2
    assert select_references(base, [base, base.copy(), base.copy()]).primary == 2     # tie: the newest


def test_mouth_and_eyes_come_from_the_closest_state_within_the_pose_slack() -> None:
    base = key_values()
    closed, open_mouth, far_open = base.copy(), base.copy(), base.copy()
    closed[I["mouth_open"]] = 0.02
    open_mouth[I["mouth_open"]] = 0.45
    open_mouth[I["head_yaw"]] = base[I["head_yaw"]] + 3.0       # a little turned: inside the slack
    far_open[I["mouth_open"]] = 0.45
    far_open[I["head_yaw"]] = base[I["head_yaw"]] + 40.0       # far turned: outside it
    assert 2 * 40 << Q_SHIFT > POSE_SLACK > 2 * 3 << Q_SHIFT
    target = base.copy()
    target[I["mouth_open"]] = 0.4
    target[I["head_yaw"]] = base[I["head_yaw"]] + 0.5
    sel = select_references(target, [closed, open_mouth, far_open])
    assert (sel.primary, sel.mouth, sel.eyes) == (0, 1, 0)
    sel = select_references(target, [closed, far_open])
    assert (sel.primary, sel.mouth) == (0, 0)                    # the open mouth is too far turned
    blink = base.copy()
    blink[I["eye_blink_left"]] = blink[I["eye_blink_right"]] = 0.1
    target = base.copy()
    assert select_references(target, [base, blink]).eyes in (0, 1)
    target[I["head_yaw"]] = blink[I["head_yaw"]] = base[I["head_yaw"]] + 2.0   # blink is the pose match
    sel = select_references(target, [base, blink])
    assert (sel.primary, sel.eyes) == (1, 0)                     # open eyes from the other reference


# -- the generator ----------------------------------------------------------------------------------
def _targets(values: np.ndarray) -> list[np.ndarray]:
    out = []
    for element, offset in (("head_yaw", 12.0), ("head_pitch", -6.0), ("mouth_open", 0.3),
                            ("eye_blink_left", -0.8), ("head_tx", 0.1)):
        v = values.copy()
        v[I[element]] += offset
        out.append(v)
    return out


def test_one_reference_gives_the_single_reference_output_byte_for_byte() -> None:
    pic, values = textured_picture(), key_values()
    single = LayeredGenerator()
    single.set_keyframe(pic, values, b"", 0)
    multi = get_generator("ifvc-geometric-2")
    assert isinstance(multi, MultiReferenceGenerator)
    multi.set_references([Reference(7, pic, values, b"", 0)])
    for v in _targets(values):
        assert multi.synthesize(v).tobytes() == single.synthesize(v).tobytes()


def test_the_mouth_of_an_open_mouth_reference_is_blended_in() -> None:
    pic, values = textured_picture(), key_values()
    open_values = values.copy()
    open_values[I["mouth_open"]] = 0.5
    other = np.ascontiguousarray(pic[:, ::-1])                   # a different picture for the open mouth
    multi = get_generator("ifvc-geometric-2")
    multi.set_references([Reference(0, pic, values, b"", 0), Reference(9, other, open_values, b"", 0)])
    target = open_values.copy()
    target[I["head_yaw"]] = values[I["head_yaw"]]                # pose of both; mouth of the second
    target[I["mouth_open"]] = 0.48
    target[I["head_pitch"]] = values[I["head_pitch"]] + 1.0
    sel = select_references(target, [values, open_values])
    assert sel.primary == 1 or sel.mouth == 1
    out = multi.synthesize(target)
    first = LayeredGenerator()
    first.set_keyframe(pic, values, b"", 0)
    second = LayeredGenerator()
    second.set_keyframe(other, open_values, b"", 0)
    assert out.tobytes() != first.synthesize(target).tobytes()
    if sel.primary == 0:                                         # only the mouth region differs
        diff = np.any(out != first.synthesize(target), axis=2)
        ys, xs = np.nonzero(diff)
        lips = first.target_geometry(target).landmarks
        assert ys.min() > lips[:, 1].min() and xs.size < diff.size // 10


# -- the decoder: bounded store, eviction ---------------------------------------------------------
def _many_keyframes_stream(num_keys: int, per_key: int = 2) -> bytes:
    n = num_keys * (per_key + 1)
    sh = header(width=48, height=48, num_frames=n, sh_generator_name="ifvc-geometric-2")
    lv = trajectory_levels(sh, n, 31)
    a = Assembler(sh)
    for k in range(num_keys):
        start = k * (per_key + 1)
        a.keyframe(raw_picture(sh, k % 7), lv[start])
        a.semantic(lv[start + 1:start + 1 + per_key])
    a.end()
    return a.getvalue()


def test_decoder_memory_is_bounded_by_max_ref_frames_not_by_the_stream() -> None:
    data = _many_keyframes_stream(15)
    dec = Decoder()
    kept, instances, frames = [], [], 0
    for _ in dec.decode(data):
        frames += 1
        kept.append(len(dec.references))
        instances.append(dec.generator.reference_count)          # type: ignore[union-attr]
    assert frames == 45
    assert max(kept) == max(instances) == 4 == max_ref_frames(10)
    assert dec.references.frame_indices() == [33, 36, 39, 42]     # the four newest key frames


def test_decoding_is_deterministic_across_runs() -> None:
    data = _many_keyframes_stream(6)
    runs = [b"".join(f.rgb.tobytes() for f in Decoder().decode(data)) for _ in range(2)]
    assert runs[0] == runs[1]


# -- the encoder: adaptive refresh ---------------------------------------------------------------
CLIP = "pcavs_Pose_Source_620900105.mp4"      # test split: the head-turn clip
FRAMES = 40


@pytest.fixture(scope="module")
def sequence(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepared_sequence(shared_data, tmp_path_factory.mktemp("multiref"), CLIP, FRAMES)


def prepared_sequence(shared_data: Path, work: Path, clip_name: str, frames: int) -> Path:
    """The first `frames` frames of a raw clip of ../shared/data face-cropped into `work` (skips
    when the clip is missing): the .rgb 4:4:4 sequence's path."""
    from conformance.sequence_preparation import prepare_clip
    from ifvc_common.files import sha256_file
    clip = shared_data / "faces" / "raw" / clip_name
    if not clip.exists():
        pytest.skip(f"{clip} missing")
    prepare_clip(clip, work, frames, "[test]", sha256_file(clip))
    return work / f"{clip.stem}_256x256_25_8bit_444.rgb"


def _encode(seq: Path, **kw: object):  # type: ignore[no-untyped-def]
    from ref_encoder.encoder import Encoder, EncoderConfig
    cfg = EncoderConfig(**{"keyframe_qp": 42, "generator_name": "ifvc-geometric-2", **kw})  # type: ignore[arg-type]
    return Encoder(cfg, 256, 256, Fraction(25), num_frames=FRAMES).encode(read_rgb444(seq))


def test_refresh_checks_without_insertion_leave_the_stream_unchanged(sequence: Path) -> None:
    # Refresh keeps the default semantic periods (it judges a frame when its unit is written) and
    # the first key frame's preset (only later key frames are fast): a refresh that never fires
    # leaves the stream of refresh off.
    off = _encode(sequence)
    never = _encode(sequence, refresh=0.001)                     # checks every frame, never fires
    assert never.refresh is not None and never.refresh.checked > 0 and never.refresh.inserted == 0
    assert never.stream == off.stream and off.refresh is None
    assert never.writer.sh.sh_sem_temporal_flag == 1


@pytest.fixture
def judged_pictures(monkeypatch: pytest.MonkeyPatch) -> dict[int, bytes]:
    """The pictures the encoder's adaptive refresh judges, by frame (the last judgement of each):
    the generator's picture, after the correction stage where the encoder gives one. A key frame
    inserted at frame k voids the judgements of frames k and later: they are coded again after it."""
    from ref_encoder import adaptive_refresh
    seen: dict[int, bytes] = {}
    original = adaptive_refresh.AdaptiveRefresh.falls_short

    def spy(self, frame_idx, source, landmarks, values, correct=None, drawn=None,  # type: ignore[no-untyped-def]
            drawn_invented=None):
        picture = self.generator.synthesize(values)
        # a picture the encoder drew before (ahead, on a worker: ref_encoder/draw_ahead.py) is
        # the picture of exactly these values, and the invented share measured with it is that
        # of the field that draws it
        assert drawn is None or np.array_equal(drawn, picture)
        if drawn_invented is not None:
            _, map_x, map_y, layers, _ = self.generator.synthesize_with_layers(values)
            assert drawn_invented == adaptive_refresh.invented_share(map_x, map_y, layers.person_alpha)
        seen[frame_idx] = (picture if correct is None else correct(picture)).tobytes()
        return original(self, frame_idx, source, landmarks, values, correct, drawn, drawn_invented)

    original_insertion = adaptive_refresh.AdaptiveRefresh.count_insertion

    def insertion(self, frame_idx):  # type: ignore[no-untyped-def]
        for stale in [i for i in seen if i >= frame_idx]:
            del seen[stale]
        return original_insertion(self, frame_idx)

    monkeypatch.setattr(adaptive_refresh.AdaptiveRefresh, "falls_short", spy)
    monkeypatch.setattr(adaptive_refresh.AdaptiveRefresh, "count_insertion", insertion)
    return seen


@pytest.mark.parametrize("threads", [1, 2])
def test_refresh_inserts_key_frames_and_sees_what_the_decoder_shows(sequence: Path, threads: int,
                                                                    judged_pictures: dict[int, bytes]) -> None:
    from ref_encoder import adaptive_refresh
    seen = judged_pictures
    result = _encode(sequence, refresh=99.0, threads=threads)    # every check fires
    keys = [f.frame_idx for f in result.frames if f.kind == "key"]
    gap = adaptive_refresh.REFRESH_MIN_GAP
    assert keys == list(range(0, FRAMES, gap)) and result.refresh.inserted == len(keys) - 1
    # each refresh cut a semantic unit (8 frames, the head at every third): the frames after the
    # key frame were coded again, in order, and every frame is in the stream once
    assert result.writer.sh.sh_sem_temporal_flag == 1 and any(k % 8 != 1 for k in keys[1:])
    assert [f.frame_idx for f in result.frames] == list(range(FRAMES))
    decoded = {f.frame_idx: f.rgb.tobytes() for f in Decoder().decode(result.stream)}
    # a frame the encoder judged and kept as a semantic frame is drawn by the decoder exactly so
    seen.clear()
    result_kept = _encode(sequence, refresh=0.001, keyframe_period=gap + 8, threads=threads)  # key frames from the period
    seen_kept = dict(seen)
    decoded_kept = {f.frame_idx: f.rgb.tobytes() for f in Decoder().decode(result_kept.stream)}
    semantic = [i for i in seen_kept if i in decoded_kept
                and result_kept.frames[i].kind == "semantic"]
    assert semantic and all(seen_kept[i] == decoded_kept[i] for i in semantic)
    # ... frames between the head's anchors too, drawn with the levels the decoder interpolates:
    # key frames at 0 and 20, so frame 13 is position 4 of the unit of frames 9-16, between the
    # head's anchors at positions 2 and 5
    assert [f.frame_idx for f in result_kept.frames if f.kind == "key"] == [0, gap + 8]
    assert result_kept.writer.sh.sh_sem_temporal_flag == 1 and 13 in semantic
    assert len(decoded) == FRAMES


@pytest.mark.parametrize("threads", [1, 2])
def test_refresh_judges_the_generator_picture_or_the_shown_one(sequence: Path, threads: int,
                                                              judged_pictures: dict[int, bytes]) -> None:
    # With the correction elements (Table 3e) the decoder shows the generator's picture after the
    # correction stage (8.6.2). By default the refresh check judges the generator's picture;
    # refresh_picture "shown" judges the corrected one, with the levels the encoder then writes
    # (chosen in order through the unit, each after the previous frame's).
    from ifvc_synthesis.correction_grid import CorrectionLayout
    seen = judged_pictures
    kw = dict(refresh=0.001, generator_name="ifvc-geometric-7", correction_grid="on", keyframe_qp=32, threads=threads)
    by_mode = {}
    for mode in ("generator", "shown"):
        seen.clear()
        result = _encode(sequence, refresh_picture=mode, **kw)    # checks every frame, never fires
        assert result.refresh is not None and result.refresh.inserted == 0
        by_mode[mode] = (result, dict(seen))
    (default, seen_default), (shown, seen_shown) = by_mode["generator"], by_mode["shown"]
    assert default.stream == shown.stream          # the judgement alone differs: no key frame was inserted
    decoder = Decoder()
    decoded = {f.frame_idx: f for f in decoder.decode(shown.stream)}
    indices = CorrectionLayout(shown.writer.sh).indices
    judged = [i for i in seen_shown if decoded[i].kind == "semantic"]
    assert judged and sorted(judged) == sorted(i for i in seen_default if decoded[i].kind == "semantic")
    corrected = [i for i in judged if any(decoded[i].levels[k] != 0 for k in indices)]
    assert corrected
    # one key frame: the decoder's generator still draws from it
    for i in judged:
        generator_picture = decoder.generator.synthesize(decoded[i].values).tobytes()
        assert seen_shown[i] == decoded[i].rgb.tobytes() and seen_default[i] == generator_picture
        assert (seen_default[i] != seen_shown[i]) == (i in corrected)


def test_refresh_picture_option_errors_and_warnings(tmp_path: Path) -> None:
    from ref_encoder.encoder import Encoder, EncoderConfig
    with pytest.raises(ValueError, match="refresh picture 'decoder'"):
        Encoder(EncoderConfig(refresh="auto", refresh_picture="decoder"), 256, 256, Fraction(25))
    warnings: list[str] = []
    Encoder(EncoderConfig(keyframe_qp=42, refresh="auto", refresh_picture="shown"), 256, 256, Fraction(25),
            warn=warnings.append)                             # auto: no correction elements at QP 42
    Encoder(EncoderConfig(keyframe_qp=32, refresh_picture="shown"), 256, 256, Fraction(25), warn=warnings.append)
    assert len(warnings) == 2 and all("--refresh-picture shown has no effect" in w for w in warnings)
    quiet: list[str] = []
    Encoder(EncoderConfig(keyframe_qp=32, refresh="auto", refresh_picture="shown"), 256, 256, Fraction(25),
            warn=quiet.append)
    assert quiet == []


def test_refresh_option_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from ref_encoder import cli as encode_cli
    src = tmp_path / "x.rgb"
    src.write_bytes(bytes(256 * 256 * 3))
    with pytest.raises(SystemExit) as exc:
        encode_cli.main([str(src), "--width", "256", "--height", "256", "--refresh", "sometimes",
                         "-o", str(tmp_path / "x.ifvc")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refresh" in err[0]
    assert not (tmp_path / "x.ifvc").exists()


def test_studio_draws_multi_reference_frames_as_the_decoder_does() -> None:
    from ref_decoder.edits import EditApplier, parse_edit
    from studio.session import StudioSession
    data = _many_keyframes_stream(6)
    edits = ["head_yaw:offset=6"]
    decoded = [f.rgb for f in Decoder(edits=EditApplier([parse_edit(e) for e in edits])).decode(data)]
    session = StudioSession(data, "multiref.ifvc")
    assert len(session.keys[-1].references) == 4
    for idx in (17, 2, 16, 10, 13):                              # random access, across key frames
        assert session.frame(idx, edits).tobytes() == decoded[idx].tobytes()


def test_refresh_check_interval_auto_follows_the_generators_cost(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    """--refresh-check-every auto (the default) checks every frame with the cheap generators and
    every K-th frame with the slower ones (AUTO_CHECK_EVERY); a number overrides it; anything
    else is a one-line usage error."""
    from bitstream.generator_registry import REGISTERED_GENERATORS
    from ref_encoder import cli as encode_cli
    from ref_encoder.adaptive_refresh import AUTO_CHECK_EVERY, AdaptiveRefresh, resolve_check_every
    from ref_encoder.encoder import Encoder, EncoderConfig
    assert set(AUTO_CHECK_EVERY) <= {g.name for g in REGISTERED_GENERATORS}
    assert resolve_check_every("auto", "ifvc-geometric-1") == resolve_check_every("auto", "ifvc-geometric-2") == 1
    assert resolve_check_every("auto", "ifvc-flow-2") == AUTO_CHECK_EVERY["ifvc-flow-2"] > 1
    assert resolve_check_every("auto", "my-own-generator") == 1 and resolve_check_every(3, "ifvc-flow-2") == 3
    for bad in ("0", "65", "often", 0):
        with pytest.raises(ValueError, match="refresh check interval"):
            resolve_check_every(bad, "ifvc-flow-2")
    enc = Encoder(EncoderConfig(keyframe_codec="raw", generator_name="ifvc-flow-2", refresh="auto"),
                  64, 64, Fraction(25))
    assert enc.refresh_check_every == AUTO_CHECK_EVERY["ifvc-flow-2"]
    k = AUTO_CHECK_EVERY["ifvc-flow-2"]
    refresh = AdaptiveRefresh("ifvc-geometric-1", 20.0, 1, k)
    assert [i for i in range(40) if refresh.due_for_check(i, 0)] == [i for i in range(12, 40) if i % k == 0]
    with pytest.raises(SystemExit):
        encode_cli.main([str(tmp_path / "x.rgb"), "--refresh-check-every", "often", "-o", str(tmp_path / "x.ifvc")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refresh check interval 'often': use auto or 1..64" in err[0]
    assert not (tmp_path / "x.ifvc").exists()


@settings(max_examples=64, deadline=None)
@given(st.integers(0, 62))
def test_refresh_auto_threshold_falls_with_qp_and_is_capped(qp: int) -> None:
    """--refresh auto: 16 dB at QP 42, 0.1 dB less per QP step above it, more below it but
    never above 17 dB (reached at QP 32, docs/results/refresh_threshold_2026-12-05); a number
    is taken as given; the threshold never rises with the QP."""
    from ref_encoder.adaptive_refresh import auto_threshold, resolve_refresh
    assert resolve_refresh("auto", qp) == auto_threshold(qp)
    assert auto_threshold(qp + 1) <= auto_threshold(qp) <= 17.0
    expected = 17.0 if qp <= 32 else 16.0 - 0.1 * (qp - 42)
    assert auto_threshold(qp) == pytest.approx(expected, abs=1e-9)
    assert auto_threshold(32) == 17.0 and auto_threshold(42) == 16.0 and auto_threshold(52) == pytest.approx(15.0)
    assert resolve_refresh("18.5", qp) == 18.5 and resolve_refresh("off", qp) is None



def test_refresh_measures_the_background_again_after_its_key_frame(sequence: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A refresh that cuts a unit codes the frames after its key frame again; their background
    # displacement is measured again against the key frame's picture (Annex B.3a): every
    # frame's last measurement is against the newest key frame before it.
    from ref_encoder import background_motion
    index = {f.tobytes(): i for i, f in enumerate(read_rgb444(sequence))}
    current: list[int] = []
    against: dict[int, int] = {}
    set_reference, estimate = background_motion.BackgroundMotion.set_reference, background_motion.BackgroundMotion.estimate

    def spy_reference(self, rgb, landmarks, value):  # type: ignore[no-untyped-def]
        current.append(index[rgb.tobytes()])
        return set_reference(self, rgb, landmarks, value)

    def spy_estimate(self, rgb, landmarks):  # type: ignore[no-untyped-def]
        against[index[rgb.tobytes()]] = current[-1]
        return estimate(self, rgb, landmarks)

    monkeypatch.setattr(background_motion.BackgroundMotion, "set_reference", spy_reference)
    monkeypatch.setattr(background_motion.BackgroundMotion, "estimate", spy_estimate)
    result = _encode(sequence, refresh=99.0)                     # key frames at 0, 12, 24, 36
    keys = [f.frame_idx for f in result.frames if f.kind == "key"]
    assert keys == [0, 12, 24, 36] and current == keys
    assert result.writer.sh.sh_sem_element_id[-2:] == [14, 15]   # bg_tx, bg_ty signalled
    newest_before = {t: max(k for k in keys if k < t) for t in range(1, FRAMES)}
    assert {t: against[t] for t in range(1, FRAMES)} == newest_before
