"""The `oracle` prior (issue 21, item 3): a degraded copy of the clean image, fed to IR2 through SPF.

Not a paper concept: an experiment that tests SAM4IR's second half (SPD, SGR) apart from the
quality of the masks. A teacher that sees a blurred, noisy GT restores far better than IR1 can,
so if distillation transfers a teacher's lead at all, IR1 must gain under it. GT is privileged
information: like `prior_source: gt` it is legitimate only because IR2 never ships.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of `(B, C, H, W)`, kernel 2*ceil(3 sigma)+1, replicated borders
    (the image's own edge, no dark frame, any image size); sigma 0 returns the image."""
    if sigma <= 0:
        return img
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=img.dtype, device=img.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = img.shape[1]
    out = F.conv2d(F.pad(img, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
                   groups=c)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
                    groups=c)


def oracle_prior(gt: torch.Tensor, blur_sigma: float, noise_sigma: float,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """`(B, 3, H, W)`: GT blurred by `blur_sigma` px, plus Gaussian noise of `noise_sigma` ([0, 1]
    scale), clamped to [0, 1]. The noise comes from `generator` (validation passes a fixed one so
    every evaluation sees the same oracle), else from torch's global RNG (seeded training)."""
    out = gaussian_blur(gt, blur_sigma)
    if noise_sigma > 0:
        noise = torch.randn(out.shape, generator=generator, dtype=out.dtype, device="cpu" if generator is not None
                            else out.device)
        out = out + noise_sigma * noise.to(out.device)
    return out.clamp(0, 1)
