"""tools/generator_numerics.py: the arithmetic variants behind the learned generator's output
tolerance (Annex C.3) compute what they say, and the comparison measures what it says."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ifvc_synthesis.generators.learned import LearnedGenerator, full_fp32_convolutions
from ifvc_synthesis.generators.refine_net import RefineConfig, RefineNet
from tools import generator_numerics as gn
from tools.generator_numerics import Recording, VariantGenerator, compare, psnr_rgb, replay

SMALL = RefineConfig(widths=(8, 8, 16, 16), res_blocks=1)
REPO = Path(__file__).resolve().parents[1]


def _tf32_reference(x: float) -> float:
    """Round a float32 to 10 explicit mantissa bits, ties to even, written independently
    with integer arithmetic on the IEEE bit pattern (finite values)."""
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    low = bits & 0x1FFF
    base = bits & ~0x1FFF & 0xFFFFFFFF
    if low > 0x1000 or (low == 0x1000 and (bits >> 13) & 1):
        base += 0x2000
    return struct.unpack("<f", struct.pack("<I", base & 0xFFFFFFFF))[0]


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-(2.0 ** 100), max_value=2.0 ** 100))
def test_tf32_rounding_matches_an_independent_rounding(x: float) -> None:
    got = float(gn._round_tf32(torch.tensor([x], dtype=torch.float32))[0])
    assert got == _tf32_reference(x)
    # representable with 10 mantissa bits, and within half a TF32 unit of the input
    assert struct.unpack("<I", struct.pack("<f", got))[0] & 0x1FFF == 0
    if abs(x) >= 2.0 ** -126:                      # normal numbers: a relative bound
        assert abs(got - x) <= abs(x) * 2.0 ** -11 * 1.0000001


def test_tf32_model_rounds_weights_and_inputs_only_in_the_copy() -> None:
    torch.manual_seed(0)
    net = RefineNet(SMALL)
    torch.nn.init.normal_(net.out.weight, std=0.1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    sim = gn._tf32_model(net)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k                        # the original is untouched
    w = sim.enc0[0].weight
    assert torch.equal(w, gn._round_tf32(before["enc0.0.weight"]))
    x = torch.rand(1, 10, 32, 32) * 2 - 1
    with torch.inference_mode():
        a, b = net(x), sim(x)
    assert not torch.equal(a, b) and float((a - b).abs().max()) < 1e-2


def test_psnr_and_compare() -> None:
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    assert psnr_rgb(a, b) == 100.0
    b[0, 0, 0] = 16                                    # MSE 256 / 192
    assert psnr_rgb(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (256 / 192)))
    r = compare([a, a], [a, b])
    assert r["frames"] == 2 and r["max_abs_diff"] == 16 and r["mean_psnr_rgb_db"] < 100
    assert r["identical_frames"] == 1 and r["differing_samples"] == 1
    assert r["differing_samples_pct"] == pytest.approx(100 * (1 / 192) / 2, abs=1e-4)


def test_variants_replay_a_recording_and_keep_the_shared_network() -> None:
    """float64 and 1-thread replays of a recorded decode agree with the float32 reference to
    within rounding, and a float64 variant does not convert the network it was given."""
    from tests.test_learned_generator import _key_picture, _randomised, _values
    net = _randomised(RefineNet(SMALL), seed=4)
    ref_gen = LearnedGenerator(model=net, num_threads=2)
    rec = Recording()
    rec.events.append(("key", (_key_picture(), _values(), b"", 0)))
    ref_gen.set_keyframe(_key_picture(), _values(), b"", 0)
    for yaw, mouth in ((5.0, 0.1), (-10.0, 0.4)):
        rec.events.append(("frame", (_values(yaw=yaw, mouth=mouth),)))
        rec.reference.append(ref_gen.synthesize(_values(yaw=yaw, mouth=mouth)))
    f64 = replay(VariantGenerator(net, "cpu", 2, torch.float64), rec)
    assert next(net.parameters()).dtype == torch.float32
    one = replay(VariantGenerator(net, "cpu", 1), rec)
    for out in (f64, one):
        r = compare(rec.reference, out)
        assert r["max_abs_diff"] <= 1 and r["min_psnr_rgb_db"] > 60
    bf16 = compare(rec.reference, replay(VariantGenerator(net, "cpu", 2, autocast=torch.bfloat16), rec))
    assert bf16["differing_samples_pct"] > 0                      # the variant really changes arithmetic
    torch.set_num_threads(2)


def test_full_fp32_convolutions_switches_tf32_off() -> None:
    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    try:
        conv.fp32_precision = "tf32"
        full_fp32_convolutions()
        assert conv.fp32_precision == "ieee"
    finally:
        conv.fp32_precision = before


def test_cli_on_a_conformance_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ifvc_synthesis.generators.learned import shipped_weights_available
    stream = REPO / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc"
    if not shipped_weights_available():
        pytest.skip("the learned generator's weights are not shipped")
    out = tmp_path / "numerics.json"
    assert gn.main([str(stream), "--frames", "2", "--only", "cpu-float64", "--json", str(out)]) == 0
    import json
    data = json.loads(out.read_text())
    assert data["frames"] == 2 and set(data["variants"]) == {"cpu-float64", "reference"}
    assert data["variants"]["cpu-float64"]["vs_reference"]["min_psnr_rgb_db"] > 50
    assert gn.main([str(tmp_path / "missing.ifvc")]) == 2
    assert gn.main([str(stream), "--only", "cpu-fp8"]) == 2
    assert "unknown variant" in capsys.readouterr().err


def test_cli_runs_the_flow_generator(tmp_path: Path) -> None:
    """--generator ifvc-flow-1: the flow-and-occlusion network under another arithmetic."""
    from ifvc_synthesis.generators.learned import FLOW_1
    stream = REPO / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc"
    if not FLOW_1.shipped():
        pytest.skip("ifvc-flow-1's weights are not shipped")
    out = tmp_path / "numerics.json"
    assert gn.main([str(stream), "--frames", "2", "--only", "cpu-1-thread", "cpu-float64",
                    "--generator", "ifvc-flow-1", "--json", str(out)]) == 0
    import json
    data = json.loads(out.read_text())
    assert data["generator"] == "ifvc-flow-1" and data["frames"] == 2
    assert data["variants"]["cpu-1-thread"]["vs_reference"]["identical_frames"] == 2      # thread-invariant
    assert data["variants"]["cpu-float64"]["vs_reference"]["min_psnr_rgb_db"] > 50
