"""A differentiable Gaussian-window SSIM map on torch, shared by the engine's losses and the
baseline papers' own losses (models/losses_paper.py), so neither imports the other."""
from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2.0
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps = taps / taps.sum()
    return torch.outer(taps, taps).expand(channels, 1, size, size).contiguous()


def gaussian_ssim_map(x: torch.Tensor, y: torch.Tensor, window_size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA,
                      data_range: float = 1.0, padding: str = "valid") -> torch.Tensor:
    """Per-pixel SSIM of two (B, C, H, W) batches (Gaussian window, K1=0.01, K2=0.03), per channel.

    padding "valid": only windows inside the image (smaller than the window: one window as large
    as the image, since training crops may be tiny); "same": zero padding, the map has the input's
    size (the pytorch_ssim convention EfficientDerain trains with).
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"SSIM needs two (B, C, H, W) tensors of the same shape, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    channels = x.shape[1]
    if padding == "same":
        size, pad = window_size, window_size // 2
    else:
        size, pad = min(window_size, x.shape[-2], x.shape[-1]), 0
    window = _gaussian_window(size, sigma, channels, x)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, padding=pad, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
