"""Synthetic degradations (rain streaks, Gaussian noise, motion blur), deterministic given the rng.

Every function takes an ``np.float32 (H, W, 3)`` image in ``[0, 1]`` and a ``np.random.Generator``
and returns a new image in ``[0, 1]``; the same generator state gives the same output.

Rain follows the usual synthetic recipe: sparse random noise -> motion blur along one angle (a
line "streak" kernel, widened for heavy rain) -> screen blend ``1 - (1 - img)(1 - rain)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage, signal

from samdistill.core.errors import DataError


@dataclass(frozen=True)
class RainLayer:
    density: float        # fraction of pixels that seed a drop
    length: int           # streak length, pixels
    width: float          # streak thickness (Gaussian sigma across the streak, pixels)
    brightness: float     # peak streak intensity before the screen blend
    angle_range: float    # streak angle drawn uniformly in +-angle_range degrees from vertical


RAIN_LEVELS: dict[str, tuple[RainLayer, ...]] = {
    # Sparse thin streaks (in the spirit of Rain100L / Rain200L).
    "light": (RainLayer(density=0.002, length=15, width=0.4, brightness=0.6, angle_range=15.0),),
    # Dense, long, wide streaks in two layers at different angles (in the spirit of Rain200H).
    "heavy": (
        RainLayer(density=0.005, length=27, width=0.8, brightness=0.75, angle_range=25.0),
        RainLayer(density=0.003, length=19, width=0.6, brightness=0.6, angle_range=25.0),
    ),
}


def add_rain(img: np.ndarray, rng: np.random.Generator, level: Literal["light", "heavy"] = "light") -> np.ndarray:
    """Screen-blend synthetic rain streaks over ``img``."""
    if level not in RAIN_LEVELS:
        raise DataError(f"rain level must be one of {sorted(RAIN_LEVELS)}, got {level!r}")
    img = _check(img)
    out = img
    for layer in RAIN_LEVELS[level]:
        rain = _rain_layer(img.shape[:2], rng, layer)
        out = 1.0 - (1.0 - out) * (1.0 - rain[:, :, None])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def add_gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise of standard deviation ``sigma / 255`` per channel, then clip to [0, 1]."""
    if sigma < 0:
        raise DataError(f"noise sigma must be >= 0, got {sigma}")
    img = _check(img)
    noisy = img + rng.normal(0.0, sigma / 255.0, size=img.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def motion_blur(img: np.ndarray, rng: np.random.Generator, kernel_size: int = 15) -> np.ndarray:
    """Blur with a random camera-shake trajectory kernel (reflect padding keeps the size)."""
    img = _check(img)
    return convolve_image(img, trajectory_kernel(rng, kernel_size))


def trajectory_kernel(rng: np.random.Generator, kernel_size: int = 15, steps: int = 64) -> np.ndarray:
    """A normalized (sum 1) blur kernel from a random walk with inertia, centred on its mean."""
    if kernel_size < 3:
        raise DataError(f"motion blur kernel_size must be >= 3, got {kernel_size}")
    heading = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(heading), np.sin(heading)])
    points = np.zeros((steps, 2))
    for i in range(1, steps):
        velocity = 0.8 * velocity + 0.6 * rng.normal(size=2)  # inertia + random shake
        velocity /= max(np.linalg.norm(velocity), 1e-8)
        points[i] = points[i - 1] + velocity
    points -= points.mean(axis=0)
    extent = np.abs(points).max()
    points *= (kernel_size - 1) / 2 / max(extent, 1e-8)  # the path spans the kernel
    return _splat(points + (kernel_size - 1) / 2, kernel_size)


def streak_kernel(length: int, angle_deg: float, width: float) -> np.ndarray:
    """A normalized line kernel of ``length`` pixels at ``angle_deg`` from vertical, Gaussian thickness ``width``."""
    size = length if length % 2 else length + 1
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length)
    theta = np.deg2rad(angle_deg)
    points = np.stack([t * np.sin(theta), t * np.cos(theta)], axis=1) + (size - 1) / 2
    kernel = _splat(points, size)
    if width > 0:
        kernel = ndimage.gaussian_filter(kernel, sigma=width, mode="constant")
    return kernel / kernel.sum()


def convolve_image(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-channel 2D convolution with reflect padding; output has the input's size."""
    ky, kx = kernel.shape
    py, px = ky // 2, kx // 2
    padded = np.pad(img, ((py, ky - 1 - py), (px, kx - 1 - px), (0, 0)), mode="reflect")
    out = np.stack([signal.fftconvolve(padded[:, :, c], kernel, mode="valid") for c in range(img.shape[2])], axis=2)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --- internals -------------------------------------------------------------------------------


def _check(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise DataError(f"degradations expect an (H, W, 3) image, got shape {arr.shape}")
    return arr


def _rain_layer(shape: tuple[int, int], rng: np.random.Generator, layer: RainLayer) -> np.ndarray:
    h, w = shape
    seeds = (rng.random((h, w)) < layer.density) * rng.uniform(0.5, 1.0, size=(h, w))
    angle = rng.uniform(-layer.angle_range, layer.angle_range)
    kernel = streak_kernel(layer.length, angle, layer.width)
    # Scale so a single drop's streak peaks near its seed value: kernel sums to 1 over its length.
    streaks = signal.fftconvolve(seeds, kernel, mode="same") / kernel.max()
    return np.clip(streaks * layer.brightness, 0.0, 1.0)


def _splat(points: np.ndarray, size: int) -> np.ndarray:
    """Accumulate (x, y) points into a size x size grid with bilinear weights; normalized to sum 1."""
    kernel = np.zeros((size, size), dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xs, ys = np.clip(x0 + dx, 0, size - 1), np.clip(y0 + dy, 0, size - 1)
        np.add.at(kernel, (ys, xs), weight)
    return kernel / kernel.sum()
