"""PSNR and SSIM as restoration papers report them (BasicSR / MATLAB conventions).

Conventions, applied identically by the numpy and the torch functions:
  - Scored on images *as saved*: float images in [0, 1] are quantized with round(x * 255)
    (clipped to [0, 255]); uint8 images are used as they are. All maths in float64, [0, 255] scale.
  - `y_channel=True`: the Y of ITU-R BT.601 YCbCr, as MATLAB's rgb2ycbcr defines it,
    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in [0, 255] (so Y is in
    [16, 235]); like BasicSR, Y is not rounded again.
  - `crop_border=k`: k pixels are removed from every side before scoring.
  - SSIM: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, population
    (co)variances, averaged over the 'valid' region only (the window never leaves the image),
    then over channels. This equals skimage's structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255), which filters the whole image and
    then drops the 5-pixel border where its window would leave the image.
  - Identical images have PSNR = inf (float('inf')). `json_safe` writes non-finite numbers as
    the strings "inf" / "-inf" / "nan" (strict JSON has no infinity; float("inf") reads them back).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from samdistill.core.json_safe import json_safe  # noqa: F401 - re-exported (its old home)

# BT.601 luma weights for R, G, B in [0, 255] -> Y in [16, 235].
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_OFFSET = 16.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


# ---------------------------------------------------------------- numpy preparation

def to_uint8_scale(img: np.ndarray, data_range: float | None = None) -> np.ndarray:
    """Quantize as saving would: float64 in {0, ..., 255}, shape (H, W, C).

    `data_range` is the value of white in the input: None means 255 for integer images and
    1.0 for float images.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {img.shape}")
    if data_range is None:
        data_range = 255.0 if np.issubdtype(img.dtype, np.integer) else 1.0
    if img.dtype == np.uint8 and data_range == 255.0:
        return img.astype(np.float64)
    scaled = img.astype(np.float64) * (255.0 / data_range)
    return np.clip(np.round(scaled), 0.0, 255.0)


def rgb_to_y(img255: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB on the [0, 255] scale -> (H, W, 1) BT.601 Y in [16, 235] (not rounded)."""
    return (img255 @ _Y_WEIGHTS + _Y_OFFSET)[..., None]


def _prepare_pair(pred: np.ndarray, gt: np.ndarray, crop_border: int, y_channel: bool,
                  data_range: float | None) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"image shapes differ: pred {pred.shape} vs gt {gt.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    a, b = to_uint8_scale(pred, data_range), to_uint8_scale(gt, data_range)
    if crop_border:
        if min(a.shape[:2]) <= 2 * crop_border:
            raise ValueError(f"crop_border={crop_border} leaves nothing of a {a.shape[:2]} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    if y_channel and a.shape[2] == 3:
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


# ---------------------------------------------------------------- numpy metrics

def psnr(pred: np.ndarray, gt: np.ndarray, crop_border: int = 0, y_channel: bool = False,
         data_range: float | None = None) -> float:
    """PSNR in dB of two HWC images (float in [0, 1] or uint8); inf when they are identical."""
    a, b = _prepare_pair(pred, gt, crop_border, y_channel, data_range)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 ** 2 / mse)


def gaussian_kernel(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """1-D normalised Gaussian taps (float64)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _filter_valid(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 2-D Gaussian filtering of (H, W), keeping only the 'valid' output region."""
    rows = sliding_window_view(img, kernel.size, axis=0) @ kernel
    return sliding_window_view(rows, kernel.size, axis=1) @ kernel


def _ssim_channel(a: np.ndarray, b: np.ndarray, kernel: np.ndarray) -> float:
    mu_a, mu_b = _filter_valid(a, kernel), _filter_valid(b, kernel)
    var_a = _filter_valid(a * a, kernel) - mu_a ** 2
    var_b = _filter_valid(b * b, kernel) - mu_b ** 2
    cov = _filter_valid(a * b, kernel) - mu_a * mu_b
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a ** 2 + mu_b ** 2 + _C1) * (var_a + var_b + _C2)
    return float(np.mean(num / den))


def ssim(pred: np.ndarray, gt: np.ndarray, crop_border: int = 0, y_channel: bool = False,
         data_range: float | None = None) -> float:
    """Mean SSIM of two HWC images (float in [0, 1] or uint8), averaged over channels."""
    a, b = _prepare_pair(pred, gt, crop_border, y_channel, data_range)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels "
                         f"(after crop_border), got {a.shape[0]}x{a.shape[1]}")
    kernel = gaussian_kernel()
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], kernel) for c in range(a.shape[2])]))


# ---------------------------------------------------------------- torch (validation on batches)

def _prepare_batch(pred: torch.Tensor, gt: torch.Tensor, crop_border: int,
                   y_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.shape != gt.shape:
        raise ValueError(f"tensor shapes differ: pred {tuple(pred.shape)} vs gt {tuple(gt.shape)}")
    if pred.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) tensors, got {tuple(pred.shape)}")
    a = (pred.detach().double() * 255.0).round().clamp(0, 255)
    b = (gt.detach().double() * 255.0).round().clamp(0, 255)
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_channel and a.shape[1] == 3:
        w = torch.as_tensor(_Y_WEIGHTS, dtype=a.dtype, device=a.device).view(1, 3, 1, 1)
        a = (a * w).sum(1, keepdim=True) + _Y_OFFSET
        b = (b * w).sum(1, keepdim=True) + _Y_OFFSET
    return a, b


def psnr_torch(pred: torch.Tensor, gt: torch.Tensor, crop_border: int = 0,
               y_channel: bool = False) -> torch.Tensor:
    """Per-image PSNR (B,) float64 of (B, C, H, W) batches in [0, 1]; same conventions as `psnr`."""
    a, b = _prepare_batch(pred, gt, crop_border, y_channel)
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(255.0 ** 2 / mse)  # mse == 0 gives inf, as in `psnr`


def ssim_torch(pred: torch.Tensor, gt: torch.Tensor, crop_border: int = 0,
               y_channel: bool = False) -> torch.Tensor:
    """Per-image SSIM (B,) float64 of (B, C, H, W) batches in [0, 1]; same conventions as `ssim`."""
    a, b = _prepare_batch(pred, gt, crop_border, y_channel)
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {tuple(a.shape[-2:])}")
    channels = a.shape[1]
    k1 = torch.as_tensor(gaussian_kernel(), dtype=a.dtype, device=a.device)
    rows = k1.view(1, 1, 1, SSIM_WINDOW).expand(channels, 1, 1, SSIM_WINDOW).contiguous()
    cols = k1.view(1, 1, SSIM_WINDOW, 1).expand(channels, 1, SSIM_WINDOW, 1).contiguous()

    def filt(x: torch.Tensor) -> torch.Tensor:  # separable (4x fewer operations); no padding: 'valid' region
        return F.conv2d(F.conv2d(x, rows, groups=channels), cols, groups=channels)

    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a ** 2
    var_b = filt(b * b) - mu_b ** 2
    cov = filt(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + _C1) * (2 * cov + _C2)) / ((mu_a ** 2 + mu_b ** 2 + _C1) * (var_a + var_b + _C2))
    return ssim_map.mean(dim=(2, 3)).mean(1)


# ---------------------------------------------------------------- reporting helpers

def mean_value(values: list[float]) -> float:
    """Arithmetic mean; inf if any value is inf (identical images), nan for an empty list."""
    return float(np.mean(values)) if values else math.nan
