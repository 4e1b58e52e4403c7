"""LPIPS (Zhang et al. 2018), v0.1 linear heads, AlexNet or VGG16 backbone.

Matches the ``lpips`` package's ``LPIPS(net=..., version='0.1')`` in eval mode: inputs RGB
in [-1, 1], its fixed input scaling, unit-normalised features per channel vector, squared
difference, learned 1x1 linear head per tap, spatial mean, sum over the five taps.
Lower is more similar; identical images give 0.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .backbones import AlexNetFeatures, VGG16Features, features_of_pair
from .frames import Frames, check_pair, check_sequences, check_unit_tensors, resolve_device
from .pairwise import score_frames
from .source_cache import SourceFeatureCache
from .weights import ALEXNET_CKPT, VGG16_CKPT, flax_checkpoint

NETS = ("alex", "vgg")
# The lpips package's ScalingLayer: maps [-1, 1] input to roughly ImageNet-normalised.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def _unit_normalise(feature: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return feature / (feature.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPS(nn.Module):
    """LPIPS distance between float N x 3 x H x W batches in [-1, 1]; returns N scores."""

    def __init__(self, net: str = "alex", pretrained: bool = True) -> None:
        super().__init__()
        if net not in NETS:
            raise ValueError(f"LPIPS net must be one of {NETS}, not {net!r}")
        self.net_name = net
        self.metric_name = f"lpips_{net}"
        # What the source features depend on, for the source-feature cache key.
        self.weights_sha256 = (ALEXNET_CKPT if net == "alex" else VGG16_CKPT).sha256
        self.backbone: nn.Module = AlexNetFeatures(pretrained) if net == "alex" else VGG16Features("max", pretrained)
        widths = [64, 192, 384, 256, 256] if net == "alex" else [64, 128, 256, 512, 512]
        self.heads = nn.ModuleList(nn.Conv2d(w, 1, 1, bias=False) for w in widths)
        if pretrained:
            params = flax_checkpoint(ALEXNET_CKPT if net == "alex" else VGG16_CKPT)
            with torch.no_grad():
                for index, head in enumerate(self.heads):
                    kernel = params[f"NetLinLayer_{index}/Conv_0/kernel"].transpose(3, 2, 0, 1)
                    head.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The definition, one pass over x and y; source_features + score_against compute the
        same values (within 1e-6) with x's features reusable against many y."""
        check_unit_tensors(x, y)
        feats_x, feats_y = features_of_pair(self.backbone, (x - self.shift) / self.scale,
                                            (y - self.shift) / self.scale)
        total = x.new_zeros(x.shape[0])
        for head, fx, fy in zip(self.heads, feats_x, feats_y):
            diff = (_unit_normalise(fx) - _unit_normalise(fy)).pow(2)
            total = total + head(diff).mean(dim=(1, 2, 3))
        return total

    def source_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The unit-normalised taps of the source batch x: all that a comparison needs of x."""
        return [_unit_normalise(f) for f in self.backbone((x - self.shift) / self.scale)]

    def score_against(self, source: list[torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        """LPIPS of each frame of y against the source frame with the same index."""
        total = y.new_zeros(y.shape[0])
        for head, nx, fy in zip(self.heads, source, self.backbone((y - self.shift) / self.scale)):
            diff = torch.sub(nx, _unit_normalise(fy)).square_()
            total = total + head(diff).mean(dim=(1, 2, 3))
        return total

    @staticmethod
    def to_input(frames: np.ndarray, device: torch.device) -> torch.Tensor:
        """uint8 N x H x W x 3 -> float32 N x 3 x H x W in [-1, 1] (channels-last strides)."""
        return _frames_to_signed(frames, device)


@lru_cache(maxsize=None)
def lpips_model(net: str = "alex", device: str | None = None) -> LPIPS:
    """A shared LPIPS model on the device (built once: loading VGG16 takes about a second)."""
    return LPIPS(net).to(resolve_device(device))


def _frames_to_signed(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    # Channels-last strides, as in frames.to_unit_tensor (faster convolutions on a CPU).
    tensor = torch.from_numpy(np.require(frames, requirements=("C", "W"))).to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def lpips_frames(reference: Frames, distorted: Frames, net: str = "alex", *,
                 batch_size: int = 1, device: str | torch.device | None = None,
                 cache: SourceFeatureCache | None = None) -> np.ndarray:
    """Per-frame LPIPS of two uint8 RGB sequences (N x H x W x 3 or lists of frames); with a
    cache, the reference's features are looked up there first (pairwise.score_frames)."""
    ref, dis = check_sequences(reference, distorted)
    dev = resolve_device(device)
    if net not in NETS:
        raise ValueError(f"LPIPS net must be one of {NETS}, not {net!r}")
    return score_frames(lpips_model(net, str(dev)), ref, [dis], batch_size=batch_size,
                        device=dev, cache=cache)[0]


def lpips(reference: np.ndarray, distorted: np.ndarray, net: str = "alex", *,
          device: str | torch.device | None = None) -> float:
    """LPIPS of one pair of uint8 RGB H x W x 3 frames."""
    ref, dis = check_pair(reference, distorted)
    return float(lpips_frames(ref[None], dis[None], net, device=device)[0])
