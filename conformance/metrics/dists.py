"""DISTS (Ding et al. 2020): deep image structure and texture similarity.

Matches ``DISTS_pytorch.DISTS`` (dingkeyan93/DISTS) and torchmetrics' DISTS: VGG16 with
L2 pooling, taps [input, relu1_2, relu2_2, relu3_3, relu4_3, relu5_3] (1475 channels in
all), per-channel structure (mean) and texture (covariance) similarities weighted by the
learned alpha / beta. Inputs RGB in [0, 1]. Lower is more similar; identical images give 0.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .backbones import VGG16Features, features_of_pair
from .frames import Frames, check_pair, check_sequences, check_unit_tensors, resolve_device, to_unit_tensor
from .pairwise import score_frames
from .source_cache import SourceFeatureCache
from .weights import DISTS_ALPHA_BETA, VGG16_CKPT, dists_alpha_beta

_CHANNELS = [3, 64, 128, 256, 512, 512]
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_C1 = _C2 = 1e-6  # the published stabilising constants


class DISTS(nn.Module):
    """DISTS between float N x 3 x H x W batches in [0, 1]; returns N scores."""

    metric_name = "dists"
    # What the source features depend on, for the source-feature cache key.
    weights_sha256 = f"{VGG16_CKPT.sha256}+{DISTS_ALPHA_BETA.sha256}"

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.backbone = VGG16Features("l2", pretrained)
        if pretrained:
            alpha, beta = dists_alpha_beta()
        else:  # the untrained initialisation of the reference code, for shape tests only
            alpha = beta = torch.full((1, sum(_CHANNELS), 1, 1), 0.1)
        self.register_buffer("alpha", alpha.clone())
        self.register_buffer("beta", beta.clone())
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The definition, one pass over x and y; source_features + score_against compute the
        same values (within 1e-6) with x's features reusable against many y."""
        check_unit_tensors(x, y)
        feats_x, feats_y = features_of_pair(self.backbone, (x - self.mean) / self.std,
                                            (y - self.mean) / self.std)
        w_sum = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / w_sum, _CHANNELS, dim=1)
        betas = torch.split(self.beta / w_sum, _CHANNELS, dim=1)
        similarity = x.new_zeros(x.shape[0])
        # The first "tap" is the input image itself, in [0, 1].
        for fx, fy, alpha, beta in zip([x] + feats_x, [y] + feats_y, alphas, betas):
            mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
            structure = (2 * mx * my + _C1) / (mx ** 2 + my ** 2 + _C1)
            vx = ((fx - mx) ** 2).mean((2, 3), keepdim=True)
            vy = ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            texture = (2 * cov + _C2) / (vx + vy + _C2)
            similarity = similarity + (alpha * structure + beta * texture).sum(dim=(1, 2, 3))
        return 1 - similarity

    def source_features(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per tap (the input first) of the source batch x: the features, their spatial mean
        and variance per channel; all that a comparison needs of x."""
        source = []
        for fx in [x] + self.backbone((x - self.mean) / self.std):
            mx = fx.mean((2, 3), keepdim=True)
            source.append((fx, mx, ((fx - mx) ** 2).mean((2, 3), keepdim=True)))
        return source

    def score_against(self, source: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                      y: torch.Tensor) -> torch.Tensor:
        """DISTS of each frame of y against the source frame with the same index."""
        w_sum = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / w_sum, _CHANNELS, dim=1)
        betas = torch.split(self.beta / w_sum, _CHANNELS, dim=1)
        similarity = y.new_zeros(y.shape[0])
        for (fx, mx, vx), fy, alpha, beta in zip(source, [y] + self.backbone((y - self.mean) / self.std),
                                                 alphas, betas):
            my = fy.mean((2, 3), keepdim=True)
            structure = (2 * mx * my + _C1) / (mx ** 2 + my ** 2 + _C1)
            vy = ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            texture = (2 * cov + _C2) / (vx + vy + _C2)
            similarity = similarity + (alpha * structure + beta * texture).sum(dim=(1, 2, 3))
        return 1 - similarity

    @staticmethod
    def to_input(frames: np.ndarray, device: torch.device) -> torch.Tensor:
        """uint8 N x H x W x 3 -> float32 N x 3 x H x W in [0, 1] (channels-last strides)."""
        return to_unit_tensor(frames, device)


@lru_cache(maxsize=None)
def dists_model(device: str | None = None) -> DISTS:
    """A shared DISTS model on the device (built once)."""
    return DISTS().to(resolve_device(device))


def dists_frames(reference: Frames, distorted: Frames, *, batch_size: int = 1,
                 device: str | torch.device | None = None,
                 cache: SourceFeatureCache | None = None) -> np.ndarray:
    """Per-frame DISTS of two uint8 RGB sequences (N x H x W x 3 or lists of frames); with a
    cache, the reference's features are looked up there first (pairwise.score_frames)."""
    ref, dis = check_sequences(reference, distorted)
    dev = resolve_device(device)
    return score_frames(dists_model(str(dev)), ref, [dis], batch_size=batch_size,
                        device=dev, cache=cache)[0]


def dists(reference: np.ndarray, distorted: np.ndarray, *,
          device: str | torch.device | None = None) -> float:
    """DISTS of one pair of uint8 RGB H x W x 3 frames."""
    ref, dis = check_pair(reference, distorted)
    return float(dists_frames(ref[None], dis[None], device=device)[0])
