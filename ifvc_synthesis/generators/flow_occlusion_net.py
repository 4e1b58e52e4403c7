"""FlowOcclusionNet: a flow-and-occlusion generator network (informative; issue 14 item 5).

The design of the paper's generator (arXiv 2302.09919, after FOMM): a dense-motion network
corrects the motion field and predicts an occlusion map, the key frame's features are warped
with the corrected field, and a decoder draws the output, taking the warped key frame where
the occlusion map says it is visible and its own synthesis (inpainting) where it is not.
Here the motion starts from IDI's field (the geometric generator's backward map), so the
network only learns the correction, the occlusion and the inpainting.

Same input layout as RefineNet (refine_net.py, ``build_inputs``: geometric output, key frame,
IDI flow / FLOW_SCALE, mouth and eye masks; N x 10 x H x W, H and W multiples of 8), same
output (N x 3 x H x W in [-1, 1]), so tools/train_generator.py trains either (``--model``).

    motion U-Net(inputs)               -> flow correction d (2 ch, |d| <= max_correction px),
                                          occlusion o in (0, 1)
    grid = output position + IDI flow + d            (key-frame pixels, align_corners)
    warped = grid_sample(key, grid)                  (full resolution)
    features f_s = encoder_s(key), s = 1/1, 1/2, 1/4; each warped with grid at its scale and
                   multiplied by o at that scale
    inpainted = decoder(warped features)             (residual blocks at 1/4, additive skips)
    output = o * warped + (1 - o) * inpainted

Initialisation: the correction and occlusion heads start at zero weights with o = sigmoid(4)
(0.982), so an untrained network is the geometric warp of the key frame, slightly mixed with
the decoder's picture; training moves away from it where the losses ask.

Its trained weights are the registered generator "ifvc-flow-1" (Annex I; learned.py FLOW_1,
registered by learned_registration.py; docs/results/flow_generator_2026-12-04).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .refine_net import FLOW_SCALE, IN_CHANNELS, ResBlock

OCCLUSION_INIT_LOGIT = 4.0


@dataclass(frozen=True)
class FlowOcclusionConfig:
    motion_widths: tuple[int, int, int, int] = (32, 64, 96, 128)    # full, 1/2, 1/4, 1/8
    feature_widths: tuple[int, int, int] = (32, 64, 128)            # key features at 1/1, 1/2, 1/4
    res_blocks: int = 4                                            # decoder blocks at 1/4
    max_correction: float = 8.0                                    # pixels

    def to_json_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json_dict(cls, d: dict) -> "FlowOcclusionConfig":
        return cls(motion_widths=tuple(int(w) for w in d["motion_widths"]),
                   feature_widths=tuple(int(w) for w in d["feature_widths"]),
                   res_blocks=int(d["res_blocks"]), max_correction=float(d["max_correction"]))


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.1)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class MotionNet(nn.Module):
    """U-Net on the 10 input channels -> (flow correction in pixels, occlusion logit), full size."""

    def __init__(self, widths: tuple[int, int, int, int]) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.e0 = nn.Sequential(_conv(IN_CHANNELS, w0), _act())
        self.e1 = nn.Sequential(_conv(w0, w1, 2), _act(), _conv(w1, w1), _act())
        self.e2 = nn.Sequential(_conv(w1, w2, 2), _act(), _conv(w2, w2), _act())
        self.e3 = nn.Sequential(_conv(w2, w3, 2), _act(), _conv(w3, w3), _act())
        self.u3, self.u2, self.u1 = nn.Conv2d(w3, w2, 1), nn.Conv2d(w2, w1, 1), nn.Conv2d(w1, w0, 1)
        self.d2, self.d1, self.d0 = _conv(w2, w2), _conv(w1, w1), _conv(w0, w0)
        self.head = nn.Conv2d(w0, 3, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.0, 0.0, OCCLUSION_INIT_LOGIT]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e0 = self.e0(x)
        e1 = self.e1(e0)
        e2 = self.e2(e1)
        d = self.e3(e2)
        d = F.leaky_relu(self.d2(e2 + _up(self.u3(d))), 0.1)
        d = F.leaky_relu(self.d1(e1 + _up(self.u2(d))), 0.1)
        d = F.leaky_relu(self.d0(e0 + _up(self.u1(d))), 0.1)
        return self.head(d)


class FlowOcclusionNet(nn.Module):
    """N x 10 x H x W inputs (H, W multiples of 8) -> N x 3 x H x W output in [-1, 1]."""

    def __init__(self, config: FlowOcclusionConfig = FlowOcclusionConfig()) -> None:
        super().__init__()
        self.config = config
        f0, f1, f2 = config.feature_widths
        self.motion = MotionNet(config.motion_widths)
        self.k0 = nn.Sequential(_conv(3, f0), _act(), _conv(f0, f0), _act())
        self.k1 = nn.Sequential(_conv(f0, f1, 2), _act(), _conv(f1, f1), _act())
        self.k2 = nn.Sequential(_conv(f1, f2, 2), _act(), _conv(f2, f2), _act())
        self.mid = nn.Sequential(*[ResBlock(f2) for _ in range(config.res_blocks)])
        self.u2, self.u1 = nn.Conv2d(f2, f1, 1), nn.Conv2d(f1, f0, 1)
        self.d1, self.d0 = _conv(f1, f1), _conv(f0, f0)
        self.out = nn.Conv2d(f0, 3, 3, padding=1)

    def motion_and_occlusion(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N x H x W x 2 sampling grid in [-1, 1], N x 1 x H x W occlusion in (0, 1))."""
        n, _, h, w = x.shape
        m = self.motion(x)
        correction = self.config.max_correction * torch.tanh(m[:, 0:2])
        flow = x[:, 6:8] * FLOW_SCALE + correction                      # key position - output position
        ys = torch.arange(h, device=x.device, dtype=x.dtype).view(1, h, 1).expand(n, h, w)
        xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, w).expand(n, h, w)
        gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
        gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
        return torch.stack((gx, gy), dim=-1), torch.sigmoid(m[:, 2:3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != IN_CHANNELS or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(f"FlowOcclusionNet expects N x {IN_CHANNELS} x H x W with H, W multiples of 8, "
                             f"got {tuple(x.shape)}")
        key = x[:, 3:6]
        grid, occ = self.motion_and_occlusion(x)
        warped = F.grid_sample(key, grid, mode="bilinear", padding_mode="border", align_corners=True)
        feats = []
        f = key
        for enc in (self.k0, self.k1, self.k2):
            f = enc(f)
            size = f.shape[2:]
            g = grid if size == grid.shape[1:3] else F.interpolate(
                grid.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
            o = occ if size == occ.shape[2:] else F.interpolate(occ, size=size, mode="bilinear", align_corners=False)
            feats.append(F.grid_sample(f, g, mode="bilinear", padding_mode="border", align_corners=True) * o)
        w0, w1, w2 = feats
        d = self.mid(w2)
        d = F.leaky_relu(self.d1(w1 + _up(self.u2(d))), 0.1)
        d = F.leaky_relu(self.d0(w0 + _up(self.u1(d))), 0.1)
        inpainted = torch.tanh(self.out(d))
        return (occ * warped + (1.0 - occ) * inpainted).clamp(-1.0, 1.0)


LAYERED_IN_CHANNELS = IN_CHANNELS + 1


class LayeredFlowOcclusionNet(FlowOcclusionNet):
    """ifvc-flow-2's network (Annex I.8): FlowOcclusionNet (same tensors, same config) on a
    layered pass, drawing only the moving person.

    Input N x 11 x H x W: the 10 channels of FlowOcclusionNet made from ifvc-geometric-3's pass
    (its picture, its composite backward map: zero flow on the still background) and, as
    channel 10, the person coverage c in [0, 1] (max of the person alpha and the mesh opacity).
    Output c * FlowOcclusionNet(x[:, :10]) + (1 - c) * x[:, 0:3]: where no person is, the
    layered picture itself, so the background stays still under any edit and disoccluded
    background is the plate's fill, never a ghost of the moved head."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != LAYERED_IN_CHANNELS:
            raise ValueError(f"LayeredFlowOcclusionNet expects N x {LAYERED_IN_CHANNELS} x H x W, got {tuple(x.shape)}")
        person = super().forward(x[:, :IN_CHANNELS])
        cover = x[:, IN_CHANNELS:LAYERED_IN_CHANNELS]
        return cover * person + (1.0 - cover) * x[:, 0:3]      # exact at c = 0 and c = 1
