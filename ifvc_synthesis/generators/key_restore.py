"""The key-picture restoration of "ifvc-geometric-9" (spec Annex H.12, informative): a small
residual network run once on each decoded key picture before the generator draws from it.

VVC intra at the key-frame QPs of the test conditions smooths the hair, skin and clothing
texture, and every synthesised frame carries the key picture's texture
(docs/results/dists_budget_2026-12-06: with the key pictures at QP 27 instead of 32, the test
split's DISTS falls from 0.1314 to 0.1163). KeyRestoreNet gives back part of that texture
(docs/results/key_restore_2026-12-07). It runs once per key frame, never per frame.

How much texture VVC took away depends on the rate the key picture was coded at, which the
decoder knows: the size of kf_picture_payload. The network reads it as a fourth input plane, so
one network serves every key-frame QP, and a picture coded at a high rate is left nearly as it
is (docs/results/key_restore_2026-12-07: a network that had to guess the rate from the picture
sharpened QP 22 key pictures too and lost 2 dB on them).

Network (Annex H.12.2): x = key picture / 255 (RGB, 3 x H x W); r = clip(log2(b / (W * H)), -8, 2)
/ 4 with b = 8 x the number of bytes of kf_picture_payload (bits per pixel); h =
ReLU(conv_head([x, r])) with r as a constant fourth plane; ``blocks`` times h = h +
conv_b2(ReLU(conv_b1(h))); y = x + conv_tail(h); every convolution 3 x 3, stride 1, zero padding
1, with bias. The restored picture is floor(clip(y, 0, 1) * 255 + 0.5). With shuffle 2 (Annex
H.13, "ifvc-geometric-10") the network works on 2 x 2 blocks of samples: x is rearranged into 12
planes at half the resolution (space_to_depth, PyTorch's pixel_unshuffle) before the head, and
the tail's 12 planes back into the picture's samples (depth_to_space) before they are added to
x: each convolution covers a quarter of the positions.

Weights: a safetensors file (never a pickle) whose SHA-256 is pinned in
bitstream/generator_registry.py and checked before its bytes are parsed; its metadata names the
format "ifvc-key-restore" and the config (channels, blocks, and shuffle when it is not 1). Training: tools/train_key_restore.py.

Inference is numpy's (float32; each convolution one matrix product over the 3 x 3
neighbourhoods), so that a decoder never imports PyTorch for it: importing torch alone took 2.7 s,
about what the decoder spends drawing 80 frames. The same bytes come out on 1 and 2 BLAS threads
(tests/test_geometric_9_generator.py). build_network is the same network in PyTorch, for
training (tools/train_key_restore.py); a test checks that the two agree.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors.numpy import load as load_safetensors

if TYPE_CHECKING:
    import torch

WEIGHTS_FORMAT = "ifvc-key-restore"


class KeyRestoreWeightsError(RuntimeError):
    """The weights file is missing, is not the pinned file, or does not fit the network."""


@dataclass(frozen=True)
class KeyRestoreConfig:
    """KeyRestoreNet's size (Annex H.12.2): channels, blocks and shuffle, the side of the
    space-to-depth blocks it works on (1: every sample, H.12; 2: 2 x 2 blocks at half the
    resolution, H.13, a quarter of the cost). A config with shuffle 1 is written without it (the
    format of ifvc-geometric-9's file)."""
    channels: int = 32
    blocks: int = 4
    shuffle: int = 1

    def to_json(self) -> str:
        data = {"channels": self.channels, "blocks": self.blocks}
        if self.shuffle != 1:
            data["shuffle"] = self.shuffle
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "KeyRestoreConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise KeyRestoreWeightsError(f"bad key-restore config {text!r}: not JSON") from None
        if (not isinstance(data, dict) or not {"channels", "blocks"} <= set(data) <= {"channels", "blocks", "shuffle"}
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in data.values())
                or data.get("shuffle", 1) not in (1, 2)):
            raise KeyRestoreWeightsError(f"bad key-restore config {text!r}: positive integers "
                                         "'channels' and 'blocks' expected (and optionally 'shuffle', 1 or 2)")
        return cls(data["channels"], data["blocks"], data.get("shuffle", 1))

    @property
    def planes(self) -> int:
        """Picture planes the network reads and writes: 3 per sample of a shuffle block."""
        return 3 * self.shuffle * self.shuffle


def build_network(config: KeyRestoreConfig) -> "torch.nn.Module":
    """A new KeyRestoreNet (Annex H.12.2) in PyTorch, for training, its tail zero (the identity
    until trained); its state dict names the tensors of the weights file."""
    from ..cpu_threads import apply_requested_threads, prefer_passive_openmp_wait
    prefer_passive_openmp_wait()
    import torch
    import torch.nn.functional as F
    from torch import nn
    apply_requested_threads(torch)

    class KeyRestoreNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c, p = config.channels, config.planes
            self.head = nn.Conv2d(p + 1, c, 3, padding=1)
            self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                                                      nn.Conv2d(c, c, 3, padding=1))
                                        for _ in range(config.blocks))
            self.tail = nn.Conv2d(c, p, 3, padding=1)
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

        def forward(self, x: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
            """x: N x 3 x H x W in [0, 1] (H and W multiples of shuffle); rate: N values r
            (rate_input)."""
            s = config.shuffle
            xs = F.pixel_unshuffle(x, s) if s > 1 else x
            plane = rate.view(-1, 1, 1, 1).expand(-1, 1, xs.shape[2], xs.shape[3]).to(x.dtype)
            # channels-last, as the shipped weights were trained (another layout sums in
            # another order: the same weights, other float rounding)
            inputs = torch.cat([xs, plane], dim=1).contiguous(memory_format=torch.channels_last)
            h = torch.relu(self.head(inputs))
            for block in self.blocks:
                h = h + block(h)
            d = self.tail(h)
            return x + (F.pixel_shuffle(d, s) if s > 1 else d)

    return KeyRestoreNet()


def _metadata(data: bytes) -> dict[str, str]:
    """The __metadata__ of a safetensors file (its JSON header; no tensor is touched)."""
    n = int.from_bytes(data[:8], "little")
    if len(data) < 8 or n <= 0 or 8 + n > len(data):
        raise KeyRestoreWeightsError("not a safetensors file: bad header length")
    try:
        return json.loads(data[8:8 + n].decode("utf-8")).get("__metadata__", {}) or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise KeyRestoreWeightsError("not a safetensors file: bad header") from None


@dataclass(frozen=True)
class KeyRestoreNetwork:
    """KeyRestoreNet's weights as float32 arrays: per convolution (weight Co x Ci x 3 x 3, bias Co),
    in the order head, blocks' first and second, tail."""
    config: KeyRestoreConfig
    convolutions: tuple[tuple[np.ndarray, np.ndarray], ...]


def tensor_names(config: KeyRestoreConfig) -> list[str]:
    """The convolutions' names in the weights file, in the order of the network."""
    return ["head"] + [f"blocks.{i}.{j}" for i in range(config.blocks) for j in (0, 2)] + ["tail"]


def network_from_tensors(config: KeyRestoreConfig, tensors: dict[str, np.ndarray]) -> KeyRestoreNetwork:
    """The network of a weights file's tensors; KeyRestoreWeightsError unless they are exactly
    KeyRestoreNet's for ``config``, float32 or float16."""
    c, p = config.channels, config.planes
    shapes = {}
    for name in tensor_names(config):
        ci = p + 1 if name == "head" else c
        co = p if name == "tail" else c
        shapes[f"{name}.weight"] = (co, ci, 3, 3)
        shapes[f"{name}.bias"] = (co,)
    if set(tensors) != set(shapes):
        raise KeyRestoreWeightsError(f"the weights do not fit KeyRestoreNet{config}: tensors "
                                     f"{sorted(set(tensors) ^ set(shapes))[:4]} missing or unexpected")
    for key, shape in shapes.items():
        t = tensors[key]
        if t.dtype not in (np.float32, np.float16) or t.shape != shape:
            raise KeyRestoreWeightsError(f"the weights do not fit KeyRestoreNet{config}: {key} is "
                                         f"{t.dtype} {tuple(t.shape)}, float32 (or float16) {shape} expected")
    return KeyRestoreNetwork(config, tuple(
        (np.ascontiguousarray(tensors[f"{n}.weight"], np.float32), np.ascontiguousarray(tensors[f"{n}.bias"], np.float32))
        for n in tensor_names(config)))


def load_network(path: Path, expected_sha256: str) -> KeyRestoreNetwork:
    """Read, verify (SHA-256 of the bytes, before parsing) and parse the weights file ``path``."""
    if not path.is_file():
        raise KeyRestoreWeightsError(f"key-restore weights file {path} not found (expected SHA-256 "
                                     f"{expected_sha256}); train and export it with tools/train_key_restore.py")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        raise KeyRestoreWeightsError(f"key-restore weights file {path} has SHA-256 {actual}, expected "
                                     f"{expected_sha256}: not the file this generator was shipped with")
    try:
        meta = _metadata(data)
        if meta.get("format") != WEIGHTS_FORMAT:
            raise KeyRestoreWeightsError(f"not an {WEIGHTS_FORMAT} weights file (metadata {meta})")
        config = KeyRestoreConfig.from_json(meta.get("config", "{}"))
        try:
            tensors = load_safetensors(data)
        except Exception as exc:             # safetensors' own errors name what is wrong
            raise KeyRestoreWeightsError(f"unreadable tensors: {exc}") from None
        return network_from_tensors(config, tensors)
    except KeyRestoreWeightsError as exc:    # every error names the file
        raise KeyRestoreWeightsError(f"{path}: {exc}") from None


def conv3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A 3 x 3 convolution, stride 1, zero padding 1 (PyTorch's Conv2d: cross-correlation):
    x H x W x Ci float32, weight Co x Ci x 3 x 3, bias Co; H x W x Co. One matrix product of
    the neighbourhoods (H*W x 9*Ci, ordered dy, dx, ci) with the weights (9*Ci x Co)."""
    h, w, ci = x.shape
    padded = np.zeros((h + 2, w + 2, ci), np.float32)
    padded[1:-1, 1:-1] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))   # h, w, ci, 3, 3
    cols = np.ascontiguousarray(windows.transpose(0, 1, 3, 4, 2)).reshape(h * w, 9 * ci)
    out = cols @ weight.transpose(2, 3, 1, 0).reshape(9 * ci, -1)
    out += bias
    return out.reshape(h, w, -1)


def rate_input(picture_bits: int, width: int, height: int) -> float:
    """r of Annex H.12.2: the key picture's bits per pixel, log2, clipped to [-8, 2], over 4."""
    if picture_bits <= 0:
        return -2.0
    return float(np.clip(np.log2(picture_bits / (width * height)), -8.0, 2.0)) / 4.0


def space_to_depth(x: np.ndarray, s: int) -> np.ndarray:
    """H x W x C -> H/s x W/s x C*s*s, PyTorch's pixel_unshuffle order (channel c*s*s + i*s + j
    holds sample (s*y + i, s*x + j) of channel c)."""
    h, w, c = x.shape
    return x.reshape(h // s, s, w // s, s, c).transpose(0, 2, 4, 1, 3).reshape(h // s, w // s, c * s * s)


def depth_to_space(x: np.ndarray, s: int) -> np.ndarray:
    """The inverse of space_to_depth (PyTorch's pixel_shuffle)."""
    h, w, cs = x.shape
    c = cs // (s * s)
    return x.reshape(h, w, c, s, s).transpose(0, 3, 1, 4, 2).reshape(h * s, w * s, c)


def restore_key_picture(network: KeyRestoreNetwork, picture: np.ndarray, picture_bits: int) -> np.ndarray:
    """The restored key picture (Annex H.12.2, H.12.3, H.13): H x W x 3 uint8 coded in
    ``picture_bits`` bits in, H x W x 3 uint8 out. With shuffle s > 1 the picture is first
    extended to multiples of s by repeating its last row and column (removed again after)."""
    h, w = picture.shape[:2]
    s = network.config.shuffle
    hp, wp = -(-h // s) * s, -(-w // s) * s
    if (hp, wp) != (h, w):
        picture_ext = np.pad(picture, ((0, hp - h), (0, wp - w), (0, 0)), mode="edge")
    else:
        picture_ext = picture
    x = picture_ext.astype(np.float32) / np.float32(255.0)
    xs = space_to_depth(x, s) if s > 1 else x
    inputs = np.empty(xs.shape[:2] + (xs.shape[2] + 1,), np.float32)
    inputs[..., :-1] = xs
    inputs[..., -1] = np.float32(rate_input(picture_bits, w, h))
    convs = network.convolutions
    hidden = np.maximum(conv3x3(inputs, *convs[0]), 0.0)
    for i in range(network.config.blocks):
        inner = np.maximum(conv3x3(hidden, *convs[1 + 2 * i]), 0.0)
        hidden += conv3x3(inner, *convs[2 + 2 * i])
    d = conv3x3(hidden, *convs[-1])
    y = x + (depth_to_space(d, s) if s > 1 else d)
    out = np.floor(np.clip(y, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    return out[:h, :w]
