"""Masks drawn over their image, to see what a segmenter produced (`samdistill priors show`)."""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from samdistill.priors.encodings import boundary_map
from samdistill.priors.maskset import MaskSet

GOLDEN_RATIO = 0.618033988749895
OUTLINE_COLOR = np.array([255, 255, 255], np.uint8)


def palette(n: int) -> np.ndarray:
    """`(n, 3)` float colors in [0, 1]: hues a golden-ratio step apart, so neighbours in the
    list (similar-sized masks) get well separated colors. Deterministic."""
    colors = []
    for i in range(n):
        hue = (i * GOLDEN_RATIO) % 1.0
        saturation = 0.85 if i % 2 == 0 else 0.6
        colors.append(colorsys.hsv_to_rgb(hue, saturation, 0.95))
    return np.asarray(colors, np.float32).reshape(n, 3)


def render_overlay(image: np.ndarray, maskset: MaskSet, alpha: float = 0.5) -> np.ndarray:
    """`(H, W, 3)` uint8: each mask blended in its own color (smaller masks on top of larger
    ones), mask outlines in white."""
    base = _as_float_rgb(image)
    if base.shape[:2] != maskset.size:
        raise ValueError(f"masks are {maskset.size} but the image is {base.shape[:2]}")
    ordered = maskset.sorted_by_area()
    color = np.zeros_like(base)
    covered = np.zeros(maskset.size, bool)
    for mask, rgb in zip(ordered.masks, palette(len(ordered))):
        color[mask] = rgb  # later (smaller) masks overwrite earlier (larger) ones
        covered |= mask
    out = base.copy()
    out[covered] = (1 - alpha) * base[covered] + alpha * color[covered]
    out = np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)
    out[boundary_map(ordered)] = OUTLINE_COLOR
    return out


def save_overlay(path: str | Path, image: np.ndarray, maskset: MaskSet, alpha: float = 0.5) -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render_overlay(image, maskset, alpha)).save(path)
    return path


def _as_float_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"overlay needs an (H, W, 3) RGB image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)
