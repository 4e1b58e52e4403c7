"""RefineNet: the small CNN of the learned generator "ifvc-refine-1" (informative).

It corrects the geometric generator's output (ifvc_synthesis/generators/geometric.py): it sees
the geometric warp, the key frame, the IDI flow and masks of the target mouth and eyes, and
predicts a residual added to the warp. The last layer starts at zero, so an untrained
network reproduces the geometric generator exactly and training can only move away from it
where the losses ask for it.

A compact U-Net: three stride-2 stages (1/2, 1/4, 1/8), additive skips (cheaper than
concatenation on a CPU), two residual blocks at 1/8 for a receptive field that covers the
hair and background around the head. About 0.5 M parameters, about 1.5 GMAC at 256x256.

Input layout (N x IN_CHANNELS x H x W, float32), built by ``build_inputs``:
    0-2  geometric output, RGB in [-1, 1]
    3-5  key frame, RGB in [-1, 1]
    6-7  backward flow (key position - output position) / FLOW_SCALE, x then y
    8    target mouth interior mask (inner-lip polygon) in [0, 1]
    9    target eye mask (both eye rings) in [0, 1]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

IN_CHANNELS = 10
MASK_CHANNELS = slice(8, 10)    # the target's mouth-interior and eye masks (layout above)
FLOW_SCALE = 32.0     # pixels; typical head motion at 256x256 maps to about +-1


@dataclass(frozen=True)
class RefineConfig:
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)   # full, 1/2, 1/4, 1/8 resolution
    res_blocks: int = 2
    # subtract the residual's spatial mean per channel and image: the network can then move
    # colours locally (mouth, eyes, smeared hair) but cannot give the whole frame a colour cast
    zero_mean_residual: bool = False

    def to_json_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json_dict(cls, d: dict) -> "RefineConfig":
        return cls(widths=tuple(int(w) for w in d["widths"]), res_blocks=int(d["res_blocks"]),
                   zero_mean_residual=bool(d.get("zero_mean_residual", False)))


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a leaky ReLU between them, added to the input."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.c1, self.c2 = _conv(ch, ch), _conv(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.leaky_relu(self.c1(x), 0.1))


class RefineNet(nn.Module):
    """N x 10 x H x W inputs (H, W multiples of 8) -> N x 3 x H x W output in [-1, 1]."""

    def __init__(self, config: RefineConfig = RefineConfig()) -> None:
        super().__init__()
        self.config = config
        w0, w1, w2, w3 = config.widths
        self.enc0 = nn.Sequential(_conv(IN_CHANNELS, w0), nn.LeakyReLU(0.1), _conv(w0, w0), nn.LeakyReLU(0.1))
        self.enc1 = nn.Sequential(_conv(w0, w1, 2), nn.LeakyReLU(0.1), _conv(w1, w1), nn.LeakyReLU(0.1))
        self.enc2 = nn.Sequential(_conv(w1, w2, 2), nn.LeakyReLU(0.1), _conv(w2, w2), nn.LeakyReLU(0.1))
        self.enc3 = nn.Sequential(_conv(w2, w3, 2), nn.LeakyReLU(0.1))
        self.mid = nn.Sequential(*[ResBlock(w3) for _ in range(config.res_blocks)])
        # 1x1 projections to the skip width before upsampling (additive skips)
        self.up3, self.up2, self.up1 = nn.Conv2d(w3, w2, 1), nn.Conv2d(w2, w1, 1), nn.Conv2d(w1, w0, 1)
        self.dec2, self.dec1, self.dec0 = _conv(w2, w2), _conv(w1, w1), _conv(w0, w0)
        self.out = nn.Conv2d(w0, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)          # start as the identity on the geometric warp
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != IN_CHANNELS or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(f"RefineNet expects N x {IN_CHANNELS} x H x W with H, W multiples of 8, "
                             f"got {tuple(x.shape)}")
        warp = x[:, 0:3]
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        d = self.mid(self.enc3(e2))
        d = F.leaky_relu(self.dec2(e2 + F.interpolate(self.up3(d), scale_factor=2.0, mode="bilinear",
                                                       align_corners=False)), 0.1)
        d = F.leaky_relu(self.dec1(e1 + F.interpolate(self.up2(d), scale_factor=2.0, mode="bilinear",
                                                       align_corners=False)), 0.1)
        d = F.leaky_relu(self.dec0(e0 + F.interpolate(self.up1(d), scale_factor=2.0, mode="bilinear",
                                                       align_corners=False)), 0.1)
        residual = self.out(d)
        if self.config.zero_mean_residual:
            residual = residual - residual.mean(dim=(2, 3), keepdim=True)
        return (warp + residual).clamp(-1.0, 1.0)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_inputs(warp_rgb: np.ndarray, key_rgb: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                 mouth_mask: np.ndarray, eye_mask: np.ndarray) -> np.ndarray:
    """The 10 x H x W float32 network input of one frame (layout in the module docstring).

    warp_rgb, key_rgb: HxWx3 uint8; map_x, map_y: HxW float32 backward maps (absolute key
    positions, as IDI returns them); masks: HxW float32 in [0, 1].
    """
    h, w = warp_rgb.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((IN_CHANNELS, h, w), np.float32)
    out[0:3] = warp_rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    out[3:6] = key_rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    out[6] = (map_x - xs) / FLOW_SCALE
    out[7] = (map_y - ys) / FLOW_SCALE
    out[MASK_CHANNELS] = (mouth_mask, eye_mask)
    return out


def to_levels(rgb_signed: torch.Tensor) -> np.ndarray:
    """3 x H x W tensor in [-1, 1] -> HxWx3 float32 sample levels (0..255 before rounding)."""
    return ((rgb_signed.detach().cpu().float() + 1.0) * 127.5).permute(1, 2, 0).numpy()


def round_levels(levels: np.ndarray) -> np.ndarray:
    """HxWx3 levels -> uint8 (round half up, clip, as the geometric generators)."""
    return np.clip(np.floor(levels + 0.5), 0, 255).astype(np.uint8)


def to_uint8(rgb_signed: torch.Tensor) -> np.ndarray:
    """3 x H x W tensor in [-1, 1] -> HxWx3 uint8 (round half up, as the geometric generator)."""
    return round_levels(to_levels(rgb_signed))
