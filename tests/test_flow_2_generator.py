"""ifvc-flow-2 (Annex I.8): the flow-and-occlusion network on ifvc-geometric-3's layers. The
composite backward map and person coverage it reads, the network's composite (the still
background is geometric-3's own picture, under any edit), its training inputs, and the
registered generator with its shipped weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ifvc_synthesis.generators import MeshGenerator, get_generator
from ifvc_synthesis.generators.flow_occlusion_net import (LAYERED_IN_CHANNELS, FlowOcclusionConfig,
                                                          FlowOcclusionNet, LayeredFlowOcclusionNet)
from ifvc_synthesis.generators.geometric_3 import MeshLayers
from ifvc_synthesis.generators.learned import FLOW_2, LearnedGenerator, layered_network_inputs
from ifvc_synthesis.generators.refine_net import FLOW_SCALE, IN_CHANNELS
from tests.test_flow_generator import (check_registered_float16_weights, check_suite_stream_on_1_and_2_threads,
                                      randomised)
from tests.test_layered_generator import I, key_values, textured_picture
from tools import train_generator
from tools.train_generator import Sample, augment, augment_on_device

SMALL = FlowOcclusionConfig(motion_widths=(8, 8, 8, 8), feature_widths=(8, 8, 8), res_blocks=1)
EDITS = [("head_yaw", 25.0), ("head_yaw", -25.0), ("head_tx", 0.2), ("head_tx", -0.2)]


@pytest.fixture(scope="module")
def mesh_gen() -> MeshGenerator:
    gen = MeshGenerator()
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    return gen


# -- the layers it reads ---------------------------------------------------------------------------
def test_backward_map_follows_each_layer() -> None:
    """Plate: the pixel's own position; person layer: IDI's map by its alpha; mesh: its texture
    coordinates by its opacity, only where a triangle covers the pixel."""
    h, w = 4, 5
    map_x = np.full((h, w), 10.0, np.float32)
    map_y = np.full((h, w), 20.0, np.float32)
    alpha = np.zeros((h, w), np.float32)
    alpha[1] = 1.0
    alpha[2] = 0.5
    opacity = np.zeros((h, w), np.float32)
    covered = np.zeros((h, w), bool)
    opacity[3, 0:2] = (1.0, 0.25)
    covered[3, 0:2] = True
    opacity[3, 2] = 0.5                       # the blurred edge of the mesh: not covered
    tex = np.full((h, w), 3.0, np.float32)
    layers = MeshLayers(alpha, opacity, covered, tex, tex)
    bx, by = layers.backward_map(map_x, map_y)
    assert bx.dtype == by.dtype == np.float32
    np.testing.assert_array_equal(bx[0], np.arange(w))
    np.testing.assert_array_equal(by[0], 0.0)
    np.testing.assert_array_equal(bx[1], 10.0)
    np.testing.assert_array_equal(by[1], 20.0)
    np.testing.assert_allclose(bx[2], (np.arange(w) + 10.0) / 2)
    assert bx[3, 0] == 3.0 and by[3, 0] == 3.0
    assert bx[3, 1] == pytest.approx(0.75 * 1.0 + 0.25 * 3.0) and by[3, 1] == pytest.approx(0.75 * 3.0 + 0.25 * 3.0)
    assert bx[3, 2] == 2.0 and by[3, 2] == 3.0          # uncovered: the plate's own position
    np.testing.assert_array_equal(layers.coverage()[3, :3], (1.0, 0.25, 0.5))


def test_geometric_3_picture_is_unchanged_by_the_layers_it_reports(mesh_gen: MeshGenerator) -> None:
    v = key_values()
    v[I["head_yaw"]] = 18.0
    v[I["mouth_open"]] = 0.3
    image, _, _, layers, _ = mesh_gen.synthesize_with_layers(v)
    assert np.array_equal(image, mesh_gen.synthesize(v))
    cover = layers.coverage()
    assert cover.min() == 0.0 and cover.max() == 1.0


def test_inputs_have_zero_flow_on_the_still_background(mesh_gen: MeshGenerator) -> None:
    v = key_values()
    v[I["head_tx"]] = 0.2
    x, image = layered_network_inputs(mesh_gen, v)
    assert x.shape == (LAYERED_IN_CHANNELS, 128, 128) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0:3], image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0)
    background = x[IN_CHANNELS] == 0
    assert background.mean() > 0.3
    assert np.abs(x[6:8][:, background]).max() == 0.0
    person = x[IN_CHANNELS] == 1
    assert np.abs(x[6][person]).max() * FLOW_SCALE > 10        # the head moved by a fifth of the width


# -- the network's composite -------------------------------------------------------------------
def test_composite_is_the_layered_picture_outside_the_person() -> None:
    torch.manual_seed(0)
    net = randomised(LayeredFlowOcclusionNet(SMALL))
    plain = FlowOcclusionNet(SMALL)
    plain.load_state_dict(net.state_dict(), strict=True)       # the same tensors
    x = torch.from_numpy(np.random.default_rng(2).uniform(-1, 1, (1, LAYERED_IN_CHANNELS, 16, 24)).astype(np.float32))
    x[:, 6:8] *= 0.1
    x[0, IN_CHANNELS] = 0.0
    x[0, IN_CHANNELS, 4:12, 8:16] = 1.0
    x[0, IN_CHANNELS, 2, 3] = 0.25
    with torch.no_grad():
        y = net(x)
        person = plain(x[:, :IN_CHANNELS])
    outside = x[0, IN_CHANNELS] == 0
    assert torch.equal(y[0][:, outside], x[0, 0:3][:, outside])
    assert torch.equal(y[0, :, 4:12, 8:16], person[0, :, 4:12, 8:16])
    expected = x[0, 0:3, 2, 3] + 0.25 * (person[0, :, 2, 3] - x[0, 0:3, 2, 3])
    assert torch.allclose(y[0, :, 2, 3], expected)
    with pytest.raises(ValueError, match="N x 11"):
        net(x[:, :IN_CHANNELS])


def test_edits_leave_the_background_exactly_as_geometric_3_draws_it(mesh_gen: MeshGenerator) -> None:
    """Where the person covers no pixel, ifvc-flow-2's output is ifvc-geometric-3's, whatever
    the network: head yaw +-25 degrees and head_tx +-0.2 leave no black pixel there."""
    gen = LearnedGenerator(model=randomised(LayeredFlowOcclusionNet(SMALL)), network=FLOW_2, num_threads=1)
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    for element, offset in EDITS:
        v = key_values()
        v[I[element]] += offset
        x, image = layered_network_inputs(mesh_gen, v)
        out = gen.synthesize(v)
        still = x[IN_CHANNELS] == 0
        assert np.array_equal(out[still], image[still]), element
        assert not (out.max(axis=2) == 0).any(), element


# -- training ----------------------------------------------------------------------------------
def test_layered_samples_augment_alike_in_numpy_and_torch() -> None:
    rng = np.random.default_rng(3)
    samples = [Sample(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                      rng.normal(0, 0.3, (2, 32, 32)).astype(np.float16), rng.integers(0, 256, (3, 32, 32), dtype=np.uint8),
                      rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(4)]
    assert samples[0].inputs().shape == (LAYERED_IN_CHANNELS, 32, 32)
    a, b = np.random.default_rng(8), np.random.default_rng(8)
    expected = [augment(s, 16, a) for s in samples]
    x, y = augment_on_device(samples, 16, b, torch.device("cpu"))
    assert x.shape == (4, LAYERED_IN_CHANNELS, 16, 16) and y.shape == (4, 3, 16, 16)
    np.testing.assert_allclose(x.numpy(), np.stack([e[0] for e in expected]), atol=2e-6)
    np.testing.assert_allclose(y.numpy(), np.stack([e[1] for e in expected]), atol=2e-6)


def test_training_needs_the_geometric_3_pass_and_starts_from_flow_1s_tensors(tmp_path: Path) -> None:
    assert train_generator.main(["train", "--model", "flow-occlusion-layered", "--base", "ifvc-geometric-1",
                                 "--run", str(tmp_path / "r"), "--steps", "1"]) == 2
    assert not (tmp_path / "r").exists()
    flow = tmp_path / "flow.safetensors"
    train_generator.save_weights(randomised(FlowOcclusionNet(SMALL)), flow)
    layered = train_generator.load_model_file(flow, "flow-occlusion-layered")
    assert type(layered) is LayeredFlowOcclusionNet and train_generator.model_kind(layered) == "flow-occlusion-layered"
    assert train_generator.model_kind(train_generator.load_model_file(flow)) == "flow-occlusion"
    layered_file = tmp_path / "layered.safetensors"
    train_generator.save_weights(layered, layered_file)
    # refused before any clip is read (compare-devices checks the same, after its CUDA check)
    assert train_generator.main(["evaluate", "--weights", str(layered_file), "--base", "ifvc-geometric-1"]) == 2


# -- the registered generator ------------------------------------------------------------------
def test_flow_2_is_registered_with_its_float16_weights() -> None:
    gen = check_registered_float16_weights(FLOW_2, 5, "Annex I.8", "flow-occlusion-layered")
    assert FLOW_2.weights_format == "ifvc-flow-occlusion-layered"
    assert isinstance(gen.net, LayeredFlowOcclusionNet) and isinstance(gen.geometric, MeshGenerator)


def test_shipped_flow_2_is_thread_invariant_and_keeps_the_background(mesh_gen: MeshGenerator) -> None:
    if not FLOW_2.shipped():
        pytest.skip("ifvc-flow-2's weights are not shipped")
    before = torch.get_num_threads()
    try:
        gen = get_generator("ifvc-flow-2")
        gen.set_keyframe(textured_picture(), key_values(), b"", 0)
        v = key_values()
        v[I["head_yaw"]] = 25.0
        outs = []
        for threads in (1, 2, 1):
            torch.set_num_threads(threads)
            outs.append(gen.synthesize(v).tobytes())
        assert len(set(outs)) == 1
        x, image = layered_network_inputs(mesh_gen, v)
        still = x[IN_CHANNELS] == 0
        out = np.frombuffer(outs[0], np.uint8).reshape(image.shape)
        assert np.array_equal(out[still], image[still])
    finally:
        torch.set_num_threads(before)


# -- the conformance stream ------------------------------------------------------------------------
def test_the_suites_flow_2_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_synthetic_motion_flow2_cabac (large synthetic motion, a blink, an opening mouth)
    decodes with ifvc-flow-2 to the frames its description lists, on 1 and 2 threads."""
    if not FLOW_2.shipped():
        pytest.skip("ifvc-flow-2's weights are not shipped")
    check_suite_stream_on_1_and_2_threads("face_synthetic_motion_flow2_cabac", "ifvc-flow-2")
