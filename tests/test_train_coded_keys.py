"""Training and evaluation on VVC-coded key frames (tools/train_generator.py --key-qps,
--val-key-qp, evaluate --key-qp): a decoder never sees the source key frame, only its VVC
reconstruction, so the learned generators can learn from the key frames a decoder has. And
the generator so trained, "ifvc-flow-3" (Annex I.9): ifvc-flow-2's network and inputs with
its own registered weights and conformance stream."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from ifvc_synthesis.generators.geometric_3 import MeshGenerator
from ref_encoder.keyframe_coding import encode_vvc_intra
from bitstream.geometry_payload import posed_canonical
from ref_encoder.keyframe_geometry import geometry_from_landmarks
from tests.test_layered_generator import key_values, textured_picture
from tools import train_generator
from tools.train_generator import Clip, KeyFrame, code_key_frames, make_sample
from ifvc_synthesis.generators.flow_occlusion_net import LayeredFlowOcclusionNet
from ifvc_synthesis.generators.learned import FLOW_2, FLOW_3, LearnedNetwork
from tests.test_flow_generator import check_registered_float16_weights, check_suite_stream_on_1_and_2_threads


def _clip(frames: np.ndarray, name: str) -> Clip:
    h, w = frames.shape[1:3]
    payload = geometry_from_landmarks(posed_canonical(key_values(), w, h), key_values(), w, h)
    keys = [KeyFrame(i, key_values(), payload) for i in range(len(frames))]
    return Clip(name, frames, np.stack([key_values()] * len(frames)), keys, MeshGenerator, network=FLOW_2)


def test_key_frames_take_the_qps_in_turn_and_are_the_vvc_reconstruction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_generator, "WORK", tmp_path)
    base = textured_picture()
    frames = np.stack([base, np.roll(base, 5, axis=1), np.roll(base, -7, axis=0)])
    clips = [_clip(frames[:2], "a"), _clip(frames[2:], "b")]
    source_sample = make_sample(clips[0], 0, 1)
    code_key_frames(clips, (22, 47), "faster")
    keys = [kf for c in clips for kf in c.keys]
    assert [kf.qp for kf in keys] == [22, 47, 22]            # clip by clip, key by key, QPs in turn
    for clip in clips:
        for k, kf in enumerate(clip.keys):
            expected = encode_vvc_intra(clip.frames[kf.frame], kf.qp, "faster").decoded
            assert np.array_equal(clip.key_picture(k), expected)
            assert not np.array_equal(clip.key_picture(k), clip.frames[kf.frame])
    # the pair's key channel and the geometric pass both come from the decoded picture
    coded_sample = make_sample(clips[0], 0, 1)
    assert np.array_equal(coded_sample.key, clips[0].key_picture(0))
    assert np.array_equal(coded_sample.target, source_sample.target)
    assert not np.array_equal(coded_sample.warp, source_sample.warp)
    gen = MeshGenerator()
    gen.set_keyframe(clips[0].key_picture(0), key_values(), clips[0].keys[0].payload, 1)
    assert np.array_equal(gen.synthesize(clips[0].values[1]), coded_sample.warp)
    # cached by picture, QP and preset: a second pass reads the same pictures back
    cached = sorted((tmp_path / "coded_keys").glob("*_qp22_faster.rgb"))
    assert len(cached) == 2
    for f in cached:                                    # a damaged cache file is coded again
        f.write_bytes(f.read_bytes()[:100])
    again = [_clip(frames[:2], "a")]
    code_key_frames(again, (22, 47), "faster")
    assert all(np.array_equal(again[0].key_picture(k), clips[0].key_picture(k)) for k in range(2))
    rewritten = [f for f in cached if f.name.startswith(hashlib.sha256(frames[0].tobytes()).hexdigest()[:20])]
    assert len(rewritten) == 1 and rewritten[0].stat().st_size == base.size


@pytest.mark.parametrize("argv", [["train", "--key-qps", "22", "64"], ["train", "--val-key-qp", "-1"],
                                  ["evaluate", "--key-qp", "x"]])
def test_a_key_frame_qp_outside_0_to_63_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        train_generator.build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "QP" in err and "Traceback" not in err


def check_same_layered_network_other_weights(network: LearnedNetwork, like: LearnedNetwork, generator_id: int,
                                             clause: str) -> None:
    """``network`` is Table 3a's ``generator_id`` (``clause``): ``like``'s layered network, config
    and inputs with registered weights of its own (shared with tests/test_flow_4_generator.py)."""
    gen = check_registered_float16_weights(network, generator_id, clause, "flow-occlusion-layered")
    assert (network.weights_format, network.network, network.config, network.layered) == \
        (like.weights_format, like.network, like.config, like.layered)
    assert network.weights_sha256_hex != like.weights_sha256_hex
    assert isinstance(gen.net, LayeredFlowOcclusionNet) and isinstance(gen.geometric, MeshGenerator)


def test_flow_3_is_flow_2s_network_with_its_own_registered_weights() -> None:
    check_same_layered_network_other_weights(FLOW_3, FLOW_2, 6, "Annex I.9")


def test_the_suites_flow_3_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_synthetic_motion_flow3_cabac (large synthetic motion, a blink, an opening mouth)
    decodes with ifvc-flow-3 to the frames its description lists, on 1 and 2 threads."""
    if not FLOW_3.shipped():
        pytest.skip("ifvc-flow-3's weights are not shipped")
    check_suite_stream_on_1_and_2_threads("face_synthetic_motion_flow3_cabac", "ifvc-flow-3")
