"""The registered learned generator "ifvc-flow-1" (Annex I): its shipped float16 weights and
their digest, loading and refusing weights files, thread-invariant output, its export command,
and the conformance stream that names it."""
from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from bitstream.generator_registry import GENERATOR_BY_NAME
from ifvc_synthesis.generators import get_generator, known_generators
from ifvc_synthesis.generators.flow_occlusion_net import FlowOcclusionConfig, FlowOcclusionNet
from ifvc_synthesis.generators.learned import (FLOW_1, REFINE_1, LearnedGenerator, LearnedNetwork, WeightsError,
                                            _metadata, build_model, load_weights)
from ifvc_synthesis.generators.refine_net import IN_CHANNELS, RefineNet
from ref_encoder.encoder import Encoder, EncoderConfig
from tools import train_generator

SMALL = FlowOcclusionConfig(motion_widths=(8, 8, 8, 8), feature_widths=(8, 8, 8), res_blocks=1)
SUITE = Path(__file__).resolve().parents[1] / "conformance" / "streams"
FLOW_STREAM = "face_synthetic_motion_flow_cabac"


def randomised(model: torch.nn.Module, seed: int = 5) -> torch.nn.Module:
    """Non-zero weights in every layer, so that every layer changes the output (shared with
    tests/test_flow_2_generator.py)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def write_run_folder(run: Path, model: torch.nn.Module, state: dict) -> None:
    """A training run folder as tools/train_generator.py leaves it: best weights + ``state``
    (shared with tests/test_flow_4_generator.py)."""
    run.mkdir(parents=True)
    train_generator.save_weights(model, run / "best.safetensors")
    (run / "state.json").write_text(json.dumps(state))


def _write_run(run: Path, model: torch.nn.Module, val: float = 0.12, geo: float = 0.13) -> None:
    write_run_folder(run, model, {"best_val_lpips": val, "history": [
        {"step": 7, "minutes": 1.0, "lpips_alex": val, "geo_lpips_alex": geo}]})


# -- registration and the shipped file ------------------------------------------------------------
def check_registered_float16_weights(network: LearnedNetwork, generator_id: int, clause: str,
                                     model: str) -> LearnedGenerator:
    """``network`` is Table 3a's ``generator_id`` described in ``clause``; its shipped file has
    the pinned digest, the metadata of a ``model`` in the default config and float16 tensors
    under 5 MiB, and loads as a float32 network (skip when not shipped). Returns the generator;
    shared with tests/test_flow_2_generator.py."""
    entry = GENERATOR_BY_NAME[network.name]
    assert entry.generator_id == generator_id and entry.clause == clause
    if not network.weights_file.is_file():
        assert network.name not in known_generators()
        pytest.skip(f"{network.weights_file} is not shipped in this checkout")
    data = network.weights_file.read_bytes()
    assert hashlib.sha256(data).digest() == entry.weights_sha256
    meta = _metadata(data)
    assert (meta["format"], meta["name"], meta["model"]) == (network.weights_format, network.name, model)
    assert FlowOcclusionConfig.from_json_dict(json.loads(meta["config"])) == FlowOcclusionConfig()
    assert {t.dtype for t in load_file(str(network.weights_file)).values()} == {torch.float16}
    assert len(data) < 5 * 2**20
    gen = get_generator(network.name)
    assert gen.name == network.name and gen.weights_sha256 == entry.weights_sha256
    assert type(gen.net) is network.network and next(gen.net.parameters()).dtype == torch.float32
    return gen


def test_flow_1_is_registered_with_its_float16_weights() -> None:
    check_registered_float16_weights(FLOW_1, 4, "Annex I", "flow-occlusion")
    assert FLOW_1.weights_format == "ifvc-flow-occlusion" and FLOW_1.network is FlowOcclusionNet


def test_the_encoder_names_flow_1_with_its_registered_digest() -> None:
    enc = Encoder(EncoderConfig(generator_name="ifvc-flow-1"), 64, 64, Fraction(25))
    assert enc.sh.sh_generator_name == "ifvc-flow-1"
    assert enc.sh.sh_generator_sha256 == GENERATOR_BY_NAME["ifvc-flow-1"].weights_sha256


# -- weights files ---------------------------------------------------------------------------------
def test_float16_weights_load_as_float32_and_altered_files_are_refused(tmp_path: Path) -> None:
    model = randomised(FlowOcclusionNet(SMALL))
    path = tmp_path / "flow.safetensors"
    train_generator.save_weights(model, path, name="ifvc-flow-1", half=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    config, tensors = load_weights(path, digest, FLOW_1)
    assert config == SMALL
    for k, v in model.state_dict().items():
        assert tensors[k].dtype == torch.float32 and torch.equal(tensors[k], v.half().float()), k
    gen = LearnedGenerator(path, digest, network=FLOW_1, num_threads=1)
    assert gen.name == "ifvc-flow-1" and gen.weights_sha256 == bytes.fromhex(digest)

    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01                                                    # one bit of one weight
    tampered = tmp_path / "tampered.safetensors"
    tampered.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=f"ifvc-flow-1: weights file .* has SHA-256 .*expected {digest}"):
        LearnedGenerator(tampered, digest, network=FLOW_1)

    refine = tmp_path / "refine.safetensors"                            # right digest, wrong network
    train_generator.save_weights(RefineNet(), refine)
    with pytest.raises(WeightsError, match="not an ifvc-flow-occlusion weights file"):
        load_weights(refine, hashlib.sha256(refine.read_bytes()).hexdigest(), FLOW_1)

    ints = tmp_path / "ints.safetensors"                                # integer tensors
    save_file({k: v.to(torch.int32) for k, v in model.state_dict().items()}, str(ints),
              metadata={"format": "ifvc-flow-occlusion", "config": json.dumps(SMALL.to_json_dict())})
    with pytest.raises(WeightsError, match="tensors of type torch.int32"):
        load_weights(ints, hashlib.sha256(ints.read_bytes()).hexdigest(), FLOW_1)

    _, small = load_weights(path, digest, FLOW_1)
    with pytest.raises(WeightsError, match="ifvc-flow-1: the weights do not fit FlowOcclusionNet"):
        build_model(FlowOcclusionConfig(), small, FLOW_1)


def test_flow_network_output_is_the_same_on_1_2_and_3_threads() -> None:
    """The flow network in the decoder's layout (channels-last convolutions, grid sampling)
    gives identical float outputs on any thread count, and run to run."""
    before = torch.get_num_threads()
    try:
        gen = LearnedGenerator(model=randomised(FlowOcclusionNet(), seed=9), network=FLOW_1)
        x = np.random.default_rng(1).uniform(-1, 1, (IN_CHANNELS, 256, 256)).astype(np.float32)
        x[6:8] *= 0.3                                                   # flows of a few pixels
        outputs = []
        for threads in (1, 2, 3, 2):
            torch.set_num_threads(threads)
            outputs.append(gen.refine(x).numpy().tobytes())
        assert len(set(outputs)) == 1
    finally:
        torch.set_num_threads(before)


# -- export ----------------------------------------------------------------------------------------
def test_export_writes_float16_weights_for_the_named_generator(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    _write_run(run, randomised(FlowOcclusionNet(SMALL)))
    out = tmp_path / "w.safetensors"
    assert train_generator.main(["export", "--run", str(run), "--generator", "ifvc-flow-1", "--out", str(out),
                                 "--half"]) == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    printed = capsys.readouterr().out
    assert f'RegisteredGenerator(4, "ifvc-flow-1", bytes.fromhex("{digest}")' in printed
    assert _metadata(out.read_bytes())["name"] == "ifvc-flow-1"
    assert {t.dtype for t in load_file(str(out)).values()} == {torch.float16}
    again = tmp_path / "again.safetensors"                  # the same weights: the same bytes
    assert train_generator.main(["export", "--run", str(run), "--generator", "ifvc-flow-1", "--out", str(again),
                                 "--half"]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_export_refuses_another_networks_generator_or_shipped_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _write_run(run, FlowOcclusionNet(SMALL))
    out = tmp_path / "w.safetensors"
    assert train_generator.main(["export", "--run", str(run), "--generator", "ifvc-refine-1",
                                 "--out", str(out)]) == 2
    assert train_generator.main(["export", "--run", str(run)]) == 2             # no generator, no --out
    assert train_generator.main(["export", "--run", str(run), "--out", str(REFINE_1.weights_file)]) == 2
    assert not out.exists()
    worse = tmp_path / "worse"
    _write_run(worse, FlowOcclusionNet(SMALL), val=0.14, geo=0.13)              # does not beat geometric-1
    assert train_generator.main(["export", "--run", str(worse), "--generator", "ifvc-flow-1",
                                 "--out", str(out)]) == 1
    assert not out.exists()


# -- the conformance stream ------------------------------------------------------------------------
def check_suite_stream_on_1_and_2_threads(stream: str, generator: str) -> None:
    """The suite's ``stream`` names ``generator`` and decodes to the same bytes on 1 and 2
    threads, its key frames to their listed MD5s. Its other frames are the listed ones where
    this machine's float32 kernels are those of the machine that made the suite; elsewhere (a
    learned generator on another CPU: the listed MD5s are one machine's rounding, which is why
    Annex C.3 gives learned output a tolerance) every frame must lie within the stream's
    tolerance of the same decode with the network in float64, the closest to exact arithmetic
    (tools/generator_numerics.py). Shared with the other generators' tests."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    from bitstream.picture_format import frame_to_rgb_planar
    from conformance.campaign.executors import set_torch_threads
    from ref_decoder.decoder import Decoder
    data = (SUITE / f"{stream}.ifvc").read_bytes()
    description = json.loads((SUITE / f"{stream}.json").read_text())
    assert description["generator"]["name"] == generator
    expected = [md5 for md5, n in description["output_frame_md5_runs"] for _ in range(n)]
    keys = {k["frame_idx"]: k["md5_output_format"] for k in description["keyframes"]}
    before = torch.get_num_threads()
    decoded: dict[int, list[np.ndarray]] = {}
    try:
        for threads in (1, 2):
            set_torch_threads(threads)
            decoded[threads] = [f.rgb for f in Decoder().decode(data)]
    finally:
        set_torch_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(decoded[1], decoded[2], strict=True)), "1 and 2 threads differ"
    md5s = [hashlib.md5(frame_to_rgb_planar(rgb)).hexdigest() for rgb in decoded[1]]
    assert all(md5s[i] == md5 for i, md5 in keys.items()), "a key frame differs"
    if md5s == expected:
        return
    assert len(md5s) == len(expected) and generator.startswith("ifvc-flow-"), \
        f"{generator} (no network) differs from its listed frames"
    from conformance.checker import check_output      # the suite's own tolerance rule (Annex C.3)
    within, note, _ = check_output(description, np.stack(decoded[1]), np.stack(_decode_in_float64(data)),
                                   float(description["tolerance"]["min_db_per_frame"]))
    assert within, note


def _decode_in_float64(data: bytes) -> list[np.ndarray]:
    """The stream decoded with every learned generator's network run in float64 (a copy)."""
    import copy
    from ref_decoder.decoder import Decoder
    original = LearnedGenerator.refine

    def refine64(self: LearnedGenerator, x: np.ndarray) -> torch.Tensor:
        net = self.net
        if getattr(self, "_net64", None) is None:
            self._net64 = copy.deepcopy(net).double()
        self.net = self._net64
        try:
            return original(self, x.astype(np.float64)).float()
        finally:
            self.net = net

    LearnedGenerator.refine = refine64          # type: ignore[method-assign]
    try:
        return [f.rgb for f in Decoder().decode(data)]
    finally:
        LearnedGenerator.refine = original       # type: ignore[method-assign]


def test_the_suites_flow_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_synthetic_motion_flow_cabac (large synthetic motion, a blink, an opening mouth)
    decodes with ifvc-flow-1 to the frames its description lists, on 1 and 2 threads."""
    if not FLOW_1.shipped():
        pytest.skip("ifvc-flow-1's weights are not shipped")
    check_suite_stream_on_1_and_2_threads(FLOW_STREAM, "ifvc-flow-1")
