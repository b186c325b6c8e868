"""RCDNet: A Model-driven Deep Neural Network for Single Image Rain Removal (Wang et al., CVPR 2020).

The rainy image is modelled as O = B + sum_n C_n (*) M_n: a background B plus rain maps M_n
convolved with a small dictionary of rain kernels C. The network unrolls S stages of proximal
gradient descent on that model; each stage updates the rain maps (M-net, the proximal operator of
M) and then the background (B-net, the proximal operator of B, which also carries num_Z "dual"
feature channels Z alongside the 3 image channels):

    M_s = proxM_s(M_{s-1} - eta_M/10 * C^T (*) (C (*) M_{s-1} - (O - B_{s-1})))
    B_s = proxB_s([B_{s-1} - eta_B/10 * (B_{s-1} - (O - C (*) M_s)), Z_{s-1}])

B_0, Z_0 come from a B-net on [O, conv(O)]; the first M step starts from the sparse residual
relu(O - B_0 - tau). A last B-net refines B_S. Structure, initial values and the parameter
registration follow the authors' public code, so the default (S=17, 32 kernels of 9x9,
num_M = num_Z = 32, T = 4) counts 3,166,355 parameters = the 3.17M quoted in the literature.

What differs from the reference, and why:
  * Rain-kernel init: the reference loads `init_kernel.mat`, made by its MATLAB script
    (`init_rain_kernel.m` / `MyRainK.m`: 32 vertical anisotropic-Gaussian streaks of growing
    length, the same for R, G, B). We cannot ship that file, so `reference_rain_kernels`
    re-derives the bank from the script's formula (not checked bit-for-bit against the .mat).
  * Pixel scale: the reference trains on 0-255 pixel values and its sparsity thresholds
    (tau = 1, 0.5) live on that scale; we take [0, 1] images and scale by `pixel_scale`
    inside, so the thresholds, steps and dynamics are the reference's.
  * Never-used parameters: the reference registers an M-net and a step size (`mnet`, `eta1`)
    for its initialisation that its forward never touches. They are kept (frozen, so DDP and
    optimizers ignore them) only so the count and state-dict layout match the reference;
    `keep_reference_unused=False` drops them (3,091,826 parameters, identical function).
  * The rain kernel is shared by every stage, yet the reference registers S-1 copies of it
    (plus one for the first step) and reads only copy 1; we do the same (`kernels`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models._padding import check_image_batch
from samdistill.models.registry import register_backbone

PAPER = "Wang et al., A Model-driven Deep Neural Network for Single Image Rain Removal, CVPR 2020"
_THIN_STREAKS = 12  # the reference's first 12 kernels are thin streaks, the rest wider


def _rain_streak(size: int, length: float, dead_zone: float, std: float) -> torch.Tensor:
    """One normalized streak kernel: a Gaussian stretched `length` times along the vertical."""
    half = (size - 1) // 2
    coords = torch.arange(-half, half + 1, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    dead = math.floor(half * dead_zone + 0.5)  # MATLAB round(): half away from zero
    shrink = lambda t: torch.sign(t) * (t.abs().clamp(min=dead) - dead)  # noqa: E731
    x, y = shrink(cols), shrink(rows) / length
    h = torch.exp(-(x * x + y * y) / (2 * std * std))
    h[h < torch.finfo(torch.float64).eps * h.max()] = 0
    return h / h.sum()


def reference_rain_kernels(num_kernels: int = 32, size: int = 9) -> torch.Tensor:
    """The reference's initial rain-kernel bank, (3, num_kernels, size, size), same for R, G, B.

    Kernel i (1-based) is a vertical streak of length 2.5 + i/4 (thin: std 0.25, no dead zone)
    for i <= 12, else 2 + i/4 (wide: std 0.5, dead zone 0.2 of the half-size).
    """
    if size % 2 == 0 or size < 3:
        raise ValueError(f"rain kernel size must be odd and >= 3, got {size}")
    streaks = [
        _rain_streak(size, 2.5 + i / 4, 0.1, 0.25) if i <= _THIN_STREAKS else _rain_streak(size, 2 + i / 4, 0.2, 0.5)
        for i in range(1, num_kernels + 1)
    ]
    return torch.stack(streaks).float().unsqueeze(0).expand(3, -1, -1, -1).clone()


class ProxNet(nn.Module):
    """A learned proximal operator: T residual blocks (conv-BN-ReLU-conv-BN, then ReLU(x + .)),
    optionally followed by a learnable per-channel soft threshold relu(x - tau) (the M-net's,
    which keeps the rain maps sparse)."""

    def __init__(self, channels: int, num_blocks: int, threshold: float | None = None):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
            )
            for _ in range(num_blocks)
        )
        self.threshold = None if threshold is None else nn.Parameter(torch.full((1, channels, 1, 1), threshold))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = F.relu(x + block(x))
        return x if self.threshold is None else F.relu(x - self.threshold)


@dataclass
class RCDNetStages:
    """Every estimate of one forward pass, in [0, 1] image units (what the multi-stage loss uses)."""

    initial: torch.Tensor  # B_0
    backgrounds: list[torch.Tensor]  # B_1 .. B_S
    rains: list[torch.Tensor]  # R_s = C (*) M_s, s = 1 .. S
    final: torch.Tensor  # the refined B_S: the network's output


class RCDNet(nn.Module):
    """RCDNet with S stages; `forward(x)` returns the derained image, `forward_stages(x)` all estimates.

    SPF attach points are the S stage B-nets `bnets.{s}`: their output [B_s, Z_s] is the stage's
    feature map (3 + num_Z channels), so an SPF unit fused there feeds the next stage.
    """

    pad_multiple = 1  # fully convolutional at full resolution

    def __init__(self, stages: int = 17, num_m: int = 32, num_z: int = 32, blocks: int = 4,
                 kernel_size: int = 9, pixel_scale: float = 255.0, keep_reference_unused: bool = True):
        super().__init__()
        if stages < 2:
            raise ValueError(f"RCDNet needs stages >= 2 (the first stage plus iterations), got {stages}")
        self.stages, self.pixel_scale, self.kernel_pad = stages, pixel_scale, kernel_size // 2
        kernel = reference_rain_kernels(num_m, kernel_size)
        # Step sizes start at eta_M = 1, eta_B = 5 and are used divided by 10 (reference).
        self.eta_b_first = nn.Parameter(torch.tensor([5.0]))
        self.eta_m = nn.Parameter(torch.ones(stages - 1, 1))
        self.eta_b = nn.Parameter(torch.full((stages - 1, 1), 5.0))
        self.kernel_first = nn.Parameter(kernel.clone())
        self.kernels = nn.Parameter(kernel.unsqueeze(0).repeat(stages - 1, 1, 1, 1, 1))
        self.shared_kernel_index = 1 if stages > 2 else 0  # the copy the reference reads (0 if only one)
        self.z_filter = nn.Parameter(torch.full((num_z, 3, 3, 3), 1 / 9))  # 3x3 mean per channel
        self.tau = nn.Parameter(torch.tensor([1.0]))  # sparsity threshold of the first residual
        self.bnet_first = ProxNet(num_z + 3, blocks)
        self.mnets = nn.ModuleList(ProxNet(num_m, blocks, threshold=0.5) for _ in range(stages))
        self.bnets = nn.ModuleList(ProxNet(num_z + 3, blocks) for _ in range(stages))
        self.bnet_final = ProxNet(num_z + 3, blocks)
        if keep_reference_unused:
            self.unused_mnet = ProxNet(num_m, blocks, threshold=0.5).requires_grad_(False)
            self.unused_eta_m = nn.Parameter(torch.tensor([1.0]), requires_grad=False)
        self.spf_attach_points = tuple(f"bnets.{s}" for s in range(stages))

    def _b_step(self, stage: int, b: torch.Tensor, z: torch.Tensor, rain: torch.Tensor, rainy: torch.Tensor,
                eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gradient step on B towards O - R, then the stage's B-net on [B, Z]."""
        dual = self.bnets[stage](torch.cat([b - eta / 10 * (b - (rainy - rain)), z], dim=1))
        return dual[:, :3], dual[:, 3:], dual

    def forward_stages(self, x: torch.Tensor) -> RCDNetStages:
        check_image_batch(x, 3, "RCDNet")
        rainy = x * self.pixel_scale
        kernel, pad = self.kernels[self.shared_kernel_index] / 10, self.kernel_pad  # /10: reference's step damping
        dual = self.bnet_first(torch.cat([rainy, F.conv2d(rainy, self.z_filter, padding=1)], dim=1))
        b0, z = dual[:, :3], dual[:, 3:]

        residual = F.relu(rainy - b0 - self.tau)
        m = self.mnets[0](F.conv_transpose2d(residual, self.kernel_first / 10, padding=pad))
        rain = F.conv2d(m, kernel, padding=pad)
        b, z, dual = self._b_step(0, b0, z, rain, rainy, self.eta_b_first)
        backgrounds, rains = [b], [rain]
        for s in range(1, self.stages):
            grad_m = F.conv_transpose2d(rain - (rainy - b), kernel, padding=pad)
            m = self.mnets[s](m - self.eta_m[s - 1] / 10 * grad_m)
            rain = F.conv2d(m, kernel, padding=pad)
            b, z, dual = self._b_step(s, b, z, rain, rainy, self.eta_b[s - 1])
            backgrounds.append(b)
            rains.append(rain)
        final = self.bnet_final(dual)[:, :3]
        unscale = lambda t: t / self.pixel_scale  # noqa: E731
        return RCDNetStages(unscale(b0), [unscale(t) for t in backgrounds], [unscale(t) for t in rains], unscale(final))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_stages(x).final


@register_backbone("rcdnet", task="deraining", paper=PAPER)
def rcdnet(**kwargs) -> RCDNet:
    """RCDNet as in the paper: S=17 stages, 32 rain kernels 9x9, num_M=num_Z=32, T=4 (3.17M)."""
    return RCDNet(**kwargs)


@register_backbone("rcdnet_tiny", task="deraining", paper=PAPER)
def rcdnet_tiny(**kwargs) -> RCDNet:
    """A small RCDNet for tests and CPU runs: S=3, num_M=num_Z=8, T=1, kernels 9x9."""
    return RCDNet(**{"stages": 3, "num_m": 8, "num_z": 8, "blocks": 1, **kwargs})
