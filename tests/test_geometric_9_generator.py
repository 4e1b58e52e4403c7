"""ifvc-geometric-9 (spec Annex H.12): ifvc-geometric-8 drawing from the key picture as
KeyRestoreNet restores it; the network's file checks, its thread invariance, the key frame output
as VVC decodes it, and the conformance stream."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bitstream.generator_registry import GENERATOR_BY_ID, GENERATOR_BY_NAME, NO_WEIGHTS_SHA256
from ifvc_synthesis.generators import ChinMaskMeshGenerator, Reference, get_generator, use_references
from ifvc_synthesis.generators.geometric_9 import WEIGHTS, RestoredKeyMeshGenerator
from ifvc_synthesis.generators.key_restore import (KeyRestoreConfig, KeyRestoreWeightsError, build_network,
                                                   load_network, network_from_tensors, rate_input,
                                                   restore_key_picture)
from tests.test_flow_generator import SUITE, check_suite_stream_on_1_and_2_threads
from tests.test_layered_generator import key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, I

STREAM = "face_head_move_geometric9_cabac"
BITS = 12000          # about what VVC spends on a 256 x 256 key picture at QP 32
PINNED = GENERATOR_BY_NAME["ifvc-geometric-9"].weights_sha256.hex()


def numpy_network(net: object, config: KeyRestoreConfig):  # type: ignore[no-untyped-def]
    return network_from_tensors(config, {k: v.detach().numpy() for k, v in net.state_dict().items()})


def check_registered(name: str, cls: type, generator_id: int, clause: str, weights: Path):  # type: ignore[no-untyped-def]
    """The generator's Table 3a row: its class and name, id, clause, background plate, and the
    SHA-256 of its shipped weights file (the generator's too); returns the row."""
    gen = get_generator(name)
    assert isinstance(gen, cls) and gen.name == name
    reg = GENERATOR_BY_NAME[name]
    assert reg.generator_id == generator_id and GENERATOR_BY_ID[generator_id] is reg
    assert reg.clause == clause and reg.background_plate
    assert reg.weights_sha256 == hashlib.sha256(weights.read_bytes()).digest() == gen.weights_sha256
    return reg


def test_registered_as_id_14_with_its_weights_file() -> None:
    reg = check_registered("ifvc-geometric-9", RestoredKeyMeshGenerator, 14, "Annex H.12", WEIGHTS)
    assert reg.weights_sha256 != NO_WEIGHTS_SHA256 == ChinMaskMeshGenerator.weights_sha256


def test_a_weights_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    pinned = PINNED
    with pytest.raises(KeyRestoreWeightsError, match="not found"):
        load_network(tmp_path / "none.safetensors", pinned)
    changed = bytearray(WEIGHTS.read_bytes())
    changed[-1] ^= 1
    (tmp_path / "changed.safetensors").write_bytes(bytes(changed))
    with pytest.raises(KeyRestoreWeightsError, match="not the file"):
        load_network(tmp_path / "changed.safetensors", pinned)
    (tmp_path / "short.safetensors").write_bytes(b"\x01")
    with pytest.raises(KeyRestoreWeightsError, match="short.safetensors: not a safetensors file"):
        load_network(tmp_path / "short.safetensors", hashlib.sha256(b"\x01").hexdigest())
    header = json.dumps({"__metadata__": {"format": "ifvc-key-restore", "config": "{bad"}}).encode()
    bad = len(header).to_bytes(8, "little") + header
    (tmp_path / "config.safetensors").write_bytes(bad)
    with pytest.raises(KeyRestoreWeightsError, match="config.safetensors: bad key-restore config"):
        load_network(tmp_path / "config.safetensors", hashlib.sha256(bad).hexdigest())


@pytest.mark.parametrize("text", ['{"channels": 0, "blocks": 2}', '{"channels": 8}',
                                  '{"channels": 8, "blocks": 2, "x": 1}', '{"channels": 8.5, "blocks": 2}',
                                  '{"channels": 8, "blocks": true}', '[8, 2]', '{"channels": 8,'])
def test_a_bad_config_is_refused(text: str) -> None:
    with pytest.raises(KeyRestoreWeightsError, match="config"):
        KeyRestoreConfig.from_json(text)


def test_an_untrained_network_is_the_identity() -> None:
    """The tail starts at zero (Annex H.12.2): y = x, and the rounding gives the picture back."""
    pytest.importorskip("torch")
    config = KeyRestoreConfig(8, 2)
    network = numpy_network(build_network(config), config)
    picture = textured_picture()
    for bits in (100, BITS, 10 ** 7):
        assert np.array_equal(restore_key_picture(network, picture, bits), picture)


def test_the_rate_input_is_log2_bits_per_pixel_clipped() -> None:
    assert rate_input(65536, 256, 256) == 0.0                  # 1 bit per pixel
    assert rate_input(65536 // 4, 256, 256) == -0.5            # 1/4: log2 = -2, over 4
    assert rate_input(1, 256, 256) == -2.0 and rate_input(0, 256, 256) == -2.0   # clipped at -8
    assert rate_input(10 ** 9, 256, 256) == 0.5                # clipped at 2


def test_numpy_inference_is_the_training_network() -> None:
    """The decoder's numpy convolutions compute what PyTorch's network (training) computes, with
    random weights in every tensor and two rates."""
    check_numpy_matches_pytorch(KeyRestoreConfig(8, 2), seed=3)


def check_numpy_matches_pytorch(config: KeyRestoreConfig, seed: int) -> None:
    """key_restore's numpy inference against build_network's PyTorch forward, random small
    weights (shared with tests/test_geometric_10_generator.py)."""
    torch = pytest.importorskip("torch")
    net = build_network(config)
    torch.manual_seed(seed)
    with torch.no_grad():
        for t in net.parameters():
            t.copy_(0.05 * torch.randn_like(t))      # small enough that y stays inside [0, 1]
    picture = textured_picture(64, 48)
    network = numpy_network(net, config)
    for bits in (3000, 30000):
        x = torch.from_numpy(picture.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.no_grad():
            y = net(x, torch.tensor([rate_input(bits, 48, 64)]))[0].permute(1, 2, 0).numpy()
        assert ((y > 0) & (y < 1)).mean() > 0.9                  # compared where nothing clips
        expected = np.floor(np.clip(y, 0, 1) * 255 + 0.5)
        got = restore_key_picture(network, picture, bits).astype(np.float64)
        assert np.abs(got - picture).mean() > 5                  # the network changes the picture
        assert np.abs(got - expected).max() <= 1 and (got == expected).mean() > 0.99


def test_the_restored_picture_is_the_same_on_1_and_2_blas_threads() -> None:
    """The shipped network on a real-sized picture, in two processes whose OpenBLAS has 1 and 2
    threads: the same bytes."""
    check_same_bytes_on_1_and_2_blas_threads("geometric_9", PINNED)


def check_same_bytes_on_1_and_2_blas_threads(module: str, pinned: str) -> None:
    """The weights file of ifvc_synthesis.generators.<module> restores a 256 x 256 picture to the
    same bytes with 1 and 2 BLAS threads (shared with tests/test_geometric_10_generator.py)."""
    code = ("import hashlib, sys; from tests.test_layered_generator import textured_picture; "
            f"from ifvc_synthesis.generators.{module} import WEIGHTS; "
            "from ifvc_synthesis.generators.key_restore import load_network, restore_key_picture; "
            f"net = load_network(WEIGHTS, {pinned!r}); "
            f"out = restore_key_picture(net, textured_picture(256, 256), {BITS}); "
            "print(hashlib.sha256(out.tobytes()).hexdigest())")
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1], check=True)
        digests.append(done.stdout.strip())
    assert len(digests[0]) == 64 and digests[0] == digests[1]


def test_the_shipped_network_changes_a_coded_picture_a_little() -> None:
    picture = textured_picture(256, 256)
    out = restore_key_picture(load_network(WEIGHTS, PINNED), picture, BITS)
    assert out.dtype == np.uint8 and out.shape == picture.shape
    diff = np.abs(out.astype(int) - picture)
    assert diff.max() > 0                                      # it does something
    assert diff.mean() < 8                                     # and stays near the picture


def test_it_is_geometric_8_on_the_restored_key_picture() -> None:
    """Every frame, under every extreme edit, is ifvc-geometric-8's output with the restored key
    picture; with the picture itself it differs; no black pixel. The reference store hands over
    the coded size."""
    g8, g9 = ChinMaskMeshGenerator(), RestoredKeyMeshGenerator()
    picture = textured_picture()
    use_references(g9, [Reference(0, picture, key_values(), b"", 0, picture_bits=BITS)])
    restored = g9.restore(picture, BITS)
    assert (restored != picture).any()
    g8.set_keyframe(restored, key_values(), b"", 0)
    for element, offset in [("head_yaw", 0.0), *EXTREME_EDITS]:
        v = key_values()
        v[I[element]] += offset
        out = g9.synthesize(v)
        assert np.array_equal(out, g8.synthesize(v)), element
        assert (out.max(axis=2) > 0).all(), element
    plain = ChinMaskMeshGenerator()
    plain.set_keyframe(picture, key_values(), b"", 0)
    assert not np.array_equal(plain.synthesize(key_values()), g9.synthesize(key_values()))


def test_a_picture_that_was_not_vvc_coded_is_used_as_it_is() -> None:
    """A raw key picture or a character (no coded size): ifvc-geometric-8's output exactly."""
    g8, g9 = ChinMaskMeshGenerator(), RestoredKeyMeshGenerator()
    picture = textured_picture()
    g8.set_keyframe(picture, key_values(), b"", 0)
    use_references(g9, [Reference(0, picture, key_values(), b"", 0)])
    v = key_values()
    v[I["head_yaw"]] += 20
    assert np.array_equal(g8.synthesize(v), g9.synthesize(v))
    g9.set_keyframe(picture, key_values(), b"", 0)
    assert np.array_equal(g8.synthesize(v), g9.synthesize(v))


def test_the_restoration_runs_once_per_key_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    import ifvc_synthesis.generators.geometric_9 as g9_module
    calls = []
    real = g9_module.restore_key_picture
    monkeypatch.setattr(g9_module, "restore_key_picture",
                        lambda net, p, bits: calls.append(1) or real(net, p, bits))
    gen = RestoredKeyMeshGenerator()
    picture = textured_picture()
    for _ in range(3):
        gen.set_keyframe(picture, key_values(), b"", 0, picture_bits=BITS)
    assert len(calls) == 1
    other = picture.copy()
    other[0, 0] ^= 1
    gen.set_keyframe(other, key_values(), b"", 0, picture_bits=BITS)
    gen.set_keyframe(other, key_values(), b"", 0, picture_bits=BITS + 8)
    assert len(calls) == 3


def test_the_suites_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    description = json.loads((SUITE / f"{STREAM}.json").read_text())
    assert description["generator"]["sha256"] == GENERATOR_BY_NAME["ifvc-geometric-9"].weights_sha256.hex()
    check_suite_stream_on_1_and_2_threads(STREAM, "ifvc-geometric-9")


def test_the_key_frame_is_output_as_vvc_decodes_it() -> None:
    """face_head_move_geometric9_cabac: the key frame is the VVC picture, the same as under
    ifvc-geometric-8; the synthesised frames differ from geometric-8's."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    from ref_decoder.decoder import Decoder
    data = (SUITE / f"{STREAM}.ifvc").read_bytes()
    g8 = list(Decoder(generator=get_generator("ifvc-geometric-8")).decode(data))
    g9 = list(Decoder().decode(data))
    assert g9[0].kind == "key" and np.array_equal(g8[0].rgb, g9[0].rgb)
    assert all((a.rgb != b.rgb).any() for a, b in zip(g8[1:], g9[1:], strict=True))
