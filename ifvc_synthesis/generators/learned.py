"""The learned generators (informative): "ifvc-refine-1" (Annex F), "ifvc-flow-1" (Annex I),
"ifvc-flow-2" (Annex I.8), "ifvc-flow-3" (Annex I.9: flow-2's network with weights trained
on VVC-decoded key frames), "ifvc-flow-4" (Annex I.10: flow-3's weights trained further
against LPIPS-VGG) and "ifvc-flow-5" (Annex I.11: flow-4 with geometric-3's eyelid cover drawn
over the network's output, so that closed eyes stay closed).

Per frame each runs a geometric generator's IDI and warp (ifvc_synthesis/idi.py,
GeometricGenerator; for ifvc-flow-2 the layered mesh renderer of ifvc-geometric-3) and gives
a network the warp, the key frame, the IDI flow and masks of the target mouth and eyes.
ifvc-refine-1's RefineNet (refine_net.py) predicts a residual on the warp, to fix what a warp
cannot: smeared hair and background under large motion, the mouth interior, the eyelids.
ifvc-flow-1's FlowOcclusionNet (flow_occlusion_net.py) corrects IDI's motion field, predicts
occlusion and draws the frame from the key frame's warped features. ifvc-flow-2's
LayeredFlowOcclusionNet does the same on geometric-3's layers and gets their coverage as an
eleventh input channel; where nothing moves (coverage 0) its output is geometric-3's picture,
so the still background stays still and decoder-side edits move only the person.
Each is a LearnedNetwork (its name, shipped weights file, weights format and network class).

The weights are a safetensors file (never a pickle). Its SHA-256 is pinned in the registry
table bitstream/generator_registry.py (which the encoder reads too) and checked
before the bytes are parsed; the generator reports that hash as weights_sha256, which the
decoder compares with sh_generator_sha256_byte of the stream. Training: tools/train_generator.py.

Inference is deterministic on a given machine and device: eval mode, inference mode, no
dropout or noise. On the CPU the network runs in the channels-last layout, where PyTorch's
oneDNN convolutions gave the same bytes on 1, 2, 3 and 4 threads (in the default layout its
1x1 convolutions sum in another order on 2 threads than on 1; Annex F.6,
docs/results/decoder_speed_2026-12-03; tests/test_decoder_threads.py),
so the thread count is the caller's (ifvc_synthesis/cpu_threads.py), never set here unless
asked. CPU and CUDA outputs differ within the output tolerance of Annex C.3, not bit for bit.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..cpu_threads import apply_requested_threads, prefer_passive_openmp_wait

prefer_passive_openmp_wait()          # before torch loads OpenMP: idle threads sleep, not spin

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load as load_safetensors  # noqa: E402

from bitstream.generator_registry import GENERATOR_BY_NAME  # noqa: E402

from ..idi import EYE_LEFT, EYE_RIGHT, INNER_LIP_RING, TargetGeometry, _idx  # noqa: E402
from .flow_occlusion_net import (LAYERED_IN_CHANNELS, FlowOcclusionConfig, FlowOcclusionNet,  # noqa: E402
                                 LayeredFlowOcclusionNet)
from .geometric import GeometricGenerator  # noqa: E402
from .geometric_3 import MeshGenerator  # noqa: E402
from .learned_registration import (FLOW_1_NAME, FLOW_1_WEIGHTS, FLOW_2_NAME, FLOW_2_WEIGHTS,  # noqa: E402
                                   FLOW_3_NAME, FLOW_3_WEIGHTS, FLOW_4_NAME, FLOW_4_WEIGHTS,
                                   FLOW_5_NAME, FLOW_5_WEIGHTS, REFINE_1_NAME, REFINE_1_WEIGHTS)
from .mesh_features import FLOW_5_LIDS, LidStyle  # noqa: E402
from .refine_net import (IN_CHANNELS, RefineConfig, RefineNet, build_inputs, round_levels, to_levels,  # noqa: E402
                         to_uint8)

apply_requested_threads(torch)


@dataclass(frozen=True)
class LearnedNetwork:
    """A learned generator's network: its sh_generator_name, shipped weights file, the
    ``format`` its weights' metadata names, the network class with its config class, and the
    geometric pass it runs on (``layered``: ifvc-geometric-3's layers, else geometric-1's warp)
    and, for ifvc-flow-5, the eyelid cover drawn over the network's output (``lids``, layered
    networks only)."""
    name: str
    weights_file: Path
    weights_format: str
    network: type[torch.nn.Module]
    config: type
    layered: bool = False
    lids: LidStyle | None = None

    def geometric_pass(self) -> GeometricGenerator:
        """A new generator for the pass this network reads."""
        return MeshGenerator() if self.layered else GeometricGenerator()

    def inputs(self, geo: GeometricGenerator, target_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(network input, the pass's uint8 picture) for one target frame."""
        if self.layered:
            assert isinstance(geo, MeshGenerator)
            return layered_network_inputs(geo, target_values)
        return network_inputs(geo, target_values)

    @property
    def weights_sha256_hex(self) -> str:
        """SHA-256 of the shipped weights file, pinned in bitstream/generator_registry.py."""
        return GENERATOR_BY_NAME[self.name].weights_sha256.hex()

    def shipped(self) -> bool:
        """True when the shipped weights file exists and a hash is pinned."""
        return bool(self.weights_sha256_hex.strip("0")) and self.weights_file.is_file()


REFINE_1 = LearnedNetwork(REFINE_1_NAME, REFINE_1_WEIGHTS, "ifvc-refine", RefineNet, RefineConfig)
FLOW_1 = LearnedNetwork(FLOW_1_NAME, FLOW_1_WEIGHTS, "ifvc-flow-occlusion", FlowOcclusionNet, FlowOcclusionConfig)
FLOW_2 = LearnedNetwork(FLOW_2_NAME, FLOW_2_WEIGHTS, "ifvc-flow-occlusion-layered", LayeredFlowOcclusionNet,
                        FlowOcclusionConfig, layered=True)
# ifvc-flow-3 (Annex I.9): ifvc-flow-2's network and inputs, weights trained on VVC-decoded key frames
FLOW_3 = LearnedNetwork(FLOW_3_NAME, FLOW_3_WEIGHTS, "ifvc-flow-occlusion-layered", LayeredFlowOcclusionNet,
                        FlowOcclusionConfig, layered=True)
# ifvc-flow-4 (Annex I.10): the same network and inputs, flow-3's weights trained further against LPIPS-VGG
FLOW_4 = LearnedNetwork(FLOW_4_NAME, FLOW_4_WEIGHTS, "ifvc-flow-occlusion-layered", LayeredFlowOcclusionNet,
                        FlowOcclusionConfig, layered=True)
# ifvc-flow-5 (Annex I.11): ifvc-flow-4's network, inputs and weights, with eyelids over its output
FLOW_5 = LearnedNetwork(FLOW_5_NAME, FLOW_5_WEIGHTS, "ifvc-flow-occlusion-layered", LayeredFlowOcclusionNet,
                        FlowOcclusionConfig, layered=True, lids=FLOW_5_LIDS)
LEARNED_NETWORKS = {n.name: n for n in (REFINE_1, FLOW_1, FLOW_2, FLOW_3, FLOW_4, FLOW_5)}

# ifvc-refine-1's name, weights file, pinned SHA-256 and weights format (tools/train_generator.py
# export says where to pin a new value).
NAME, WEIGHTS_FILE = REFINE_1.name, REFINE_1.weights_file
WEIGHTS_SHA256_HEX = REFINE_1.weights_sha256_hex
WEIGHTS_FORMAT = REFINE_1.weights_format


class WeightsError(RuntimeError):
    """The weights file is missing, is not the pinned file, or does not fit the network."""


# -- the geometric pass with its intermediates ------------------------------------------------
@dataclass
class GeometricPass:
    image: np.ndarray        # HxWx3 uint8: exactly GeometricGenerator.synthesize()
    map_x: np.ndarray        # HxW float32 backward map (key-frame x for each output pixel)
    map_y: np.ndarray
    target: TargetGeometry


def geometric_pass(geo: GeometricGenerator, target_values: np.ndarray) -> GeometricPass:
    """GeometricGenerator.synthesize() keeping the motion field and the target geometry, so IDI
    runs once per frame. tests/test_learned_generator.py checks it equals synthesize()."""
    return GeometricPass(*geo.synthesize_with_field(target_values))


def _polygon_mask(h: int, w: int, polys: list[np.ndarray]) -> np.ndarray:
    mask = np.zeros((h, w), np.float32)
    for poly in polys:
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
    return mask


def semantic_masks(tg: TargetGeometry, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(mouth interior, eyes) masks of the target frame, HxW float32 in [0, 1]."""
    lm = tg.landmarks
    mouth = _polygon_mask(h, w, [lm[_idx(INNER_LIP_RING)]])
    eyes = _polygon_mask(h, w, [lm[_idx(EYE_LEFT["ring"])], lm[_idx(EYE_RIGHT["ring"])]])
    return mouth, eyes


def network_inputs(geo: GeometricGenerator, target_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(10 x H x W network input, geometric output HxWx3 uint8) for one target frame."""
    gp = geometric_pass(geo, target_values)
    assert geo.key_rgb is not None
    h, w = gp.image.shape[:2]
    mouth, eyes = semantic_masks(gp.target, h, w)
    return build_inputs(gp.image, geo.key_rgb, gp.map_x, gp.map_y, mouth, eyes), gp.image


def layered_network_inputs(geo: MeshGenerator, target_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(11 x H x W input of ifvc-flow-2, ifvc-geometric-3's output HxWx3 uint8), Annex I.8."""
    x, image, _ = layered_network_frame(geo, target_values)
    return x, image


def layered_network_frame(geo: MeshGenerator, target_values: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, TargetGeometry]:
    """(11 x H x W input of ifvc-flow-2, ifvc-geometric-3's output HxWx3 uint8, the target
    geometry), Annex I.8: the 10 channels of build_inputs from geometric-3's picture and its
    composite backward map (MeshLayers.backward_map), then the person coverage
    (MeshLayers.coverage)."""
    image, map_x, map_y, layers, tg = geo.synthesize_with_layers(target_values)
    assert geo.key_rgb is not None
    h, w = image.shape[:2]
    mouth, eyes = semantic_masks(tg, h, w)
    bx, by = layers.backward_map(map_x, map_y)
    x = np.empty((LAYERED_IN_CHANNELS, h, w), np.float32)
    x[:IN_CHANNELS] = build_inputs(image, geo.key_rgb, bx, by, mouth, eyes)
    x[IN_CHANNELS] = layers.coverage()
    return x, image, tg


# -- weights -----------------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_weights(path: Path, expected_sha256: str, network: LearnedNetwork = REFINE_1
                 ) -> tuple[object, dict[str, torch.Tensor]]:
    """Read, verify (SHA-256 of the bytes, before parsing) and parse a weights file: the
    network's config and its float32 tensors (a file may store them as float16)."""
    path = Path(path)
    name = network.name
    if not expected_sha256:
        raise WeightsError(f"{name}: no SHA-256 is pinned for {path}; export trained weights with "
                           "python -m tools.train_generator export and pin the printed hash")
    if not path.is_file():
        raise WeightsError(f"{name}: weights file {path} not found (expected SHA-256 {expected_sha256}); "
                           "train and export it with python -m tools.train_generator")
    data = path.read_bytes()
    actual = sha256_hex(data)
    if actual != expected_sha256.lower():
        raise WeightsError(f"{name}: weights file {path} has SHA-256 {actual}, expected {expected_sha256}; "
                           "the file is not the one this generator was shipped with")
    tensors = load_safetensors(data)
    meta = _metadata(data)
    if meta.get("format") != network.weights_format:
        raise WeightsError(f"{path}: not an {network.weights_format} weights file (metadata {meta})")
    bad = sorted({str(t.dtype) for t in tensors.values()} - {"torch.float32", "torch.float16"})
    if bad:
        raise WeightsError(f"{path}: tensors of type {', '.join(bad)}; float32 or float16 expected")
    return (network.config.from_json_dict(json.loads(meta["config"])),
            {k: t.to(torch.float32) for k, t in tensors.items()})


def _metadata(data: bytes) -> dict[str, str]:
    """The __metadata__ of a safetensors file (its JSON header; no tensor is touched)."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n].decode("utf-8")).get("__metadata__", {}) or {}


def build_model(config: object, tensors: dict[str, torch.Tensor],
                network: LearnedNetwork = REFINE_1) -> torch.nn.Module:
    model = network.network(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{network.name}: the weights do not fit {network.network.__name__}{config}: "
                           f"{exc}") from None
    return model.eval().requires_grad_(False)


# -- the generator -----------------------------------------------------------------------------
class LearnedGenerator:
    """Generator protocol (base.py): a network on the geometric pass (RefineNet for
    ifvc-refine-1, FlowOcclusionNet for ifvc-flow-1)."""

    def __init__(self, weights_path: Path | str | None = None, expected_sha256: str | None = None,
                 *, network: LearnedNetwork = REFINE_1, device: str | None = None,
                 num_threads: int | None = None, model: torch.nn.Module | None = None,
                 geometric: GeometricGenerator | None = None) -> None:
        """Loads and verifies the weights (default: ``network``'s shipped file and pinned hash).
        ``model`` (tests, training) skips the file: then weights_sha256 is all zero, as for a
        generator without shipped weights.
        ``geometric`` (training studies): the geometric pass to refine, instead of
        geometric-1's (the shipped weights refine geometric-1).
        ``num_threads``: set PyTorch's (process-wide) CPU thread count; None (the decoder's
        default) leaves the caller's setting, which does not change the output."""
        self.name = network.name
        self.device = torch.device(device or os.environ.get("IFVC_GENERATOR_DEVICE", "cpu"))
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{network.name}: device {self.device} requested, but no CUDA device is available "
                             f"(PyTorch {torch.__version__})")
        if num_threads is not None and self.device.type == "cpu":
            torch.set_num_threads(num_threads)
        if model is None:
            expected = network.weights_sha256_hex if expected_sha256 is None else expected_sha256
            config, tensors = load_weights(Path(weights_path or network.weights_file), expected, network)
            model = build_model(config, tensors, network)
            self.weights_sha256 = bytes.fromhex(expected)
        else:
            self.weights_sha256 = bytes(32)
        if self.device.type == "cuda":
            full_fp32_convolutions()
        # A copy: the caller's model (training) keeps its layout. Channels-last on the CPU: the
        # same bytes on any thread count (module docstring).
        self.net = copy.deepcopy(model).to(self.device, memory_format=self.memory_format).eval()
        self.network = network
        self.geometric = geometric if geometric is not None else network.geometric_pass()

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        self.geometric.set_keyframe(key_rgb, key_values, geometry, geometry_version)

    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        if self.geometric.model is None:
            raise RuntimeError("set_keyframe() must come before synthesize()")
        if self.network.lids is None:
            x, _ = self.network.inputs(self.geometric, target_values)
            return to_uint8(self.refine(x))
        # Annex I.11: geometric-3's eyelid cover, laid as network.lids says, over the output
        assert isinstance(self.geometric, MeshGenerator)
        x, _, tg = layered_network_frame(self.geometric, target_values)
        out = np.ascontiguousarray(to_levels(self.refine(x)))      # a copy, drawn on in place
        self.geometric.features.draw_eyelids(out, tg, self.network.lids)
        return round_levels(out)

    def refine(self, x: np.ndarray) -> torch.Tensor:
        """The network (RefineNet or FlowOcclusionNet) on one frame's 10 x H x W input:
        3 x H x W in [-1, 1] (before rounding).
        Separate from synthesize() so that tools/generator_numerics.py can run the same
        network under other arithmetic (float64, simulated TF32, bfloat16)."""
        h, w = x.shape[1:]
        ph, pw = (-h) % 8, (-w) % 8                  # the U-Net needs multiples of 8
        with torch.inference_mode():
            t = torch.from_numpy(x)[None].to(self.device)
            if ph or pw:
                t = torch.nn.functional.pad(t, (0, pw, 0, ph), mode="replicate")
            t = t.contiguous(memory_format=self.memory_format)
            return self.net(t)[0, :, :h, :w]

    @property
    def memory_format(self) -> torch.memory_format:
        """Channels-last on the CPU (thread-invariant convolutions), PyTorch's default on CUDA."""
        return torch.channels_last if self.device.type == "cpu" else torch.contiguous_format


def full_fp32_convolutions() -> None:
    """Make cuDNN convolutions use full float32 products, as the CPU does. PyTorch lets them
    use TF32 (a 10-bit mantissa) by default on Ampere and later GPUs; simulated on the CPU
    (tools/generator_numerics.py) that changes 0.1 % of the output samples by one level
    (77 dB against the CPU output) where float32 arithmetic in another order changes a few
    samples in a million: both pass the 40 dB tolerance of Annex C.3, float32 keeps a GPU
    decoder closest to the reference. Process-wide, as PyTorch's switch is."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = "ieee"
    else:                                        # PyTorch before the fp32_precision switches
        torch.backends.cudnn.allow_tf32 = False


def shipped_weights_available(network: LearnedNetwork = REFINE_1) -> bool:
    """True when the network's shipped weights file exists and a hash is pinned."""
    return network.shipped()
