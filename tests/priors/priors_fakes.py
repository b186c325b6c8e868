"""Fakes shared by the prior tests (a module name of its own: tests/priors/sam has a conftest too)."""
from __future__ import annotations

import numpy as np

from samdistill.priors.maskset import MaskSet


class CountingSegmenter:
    """Deterministic fake: mask k = red channel above threshold k; counts its calls."""

    def __init__(self, thresholds=(0.2, 0.5, 0.8), tag: str = "fake"):
        self.thresholds = thresholds
        self.tag = tag
        self.calls = 0
        self.seen_means: list[float] = []

    def __call__(self, image: np.ndarray) -> MaskSet:
        self.calls += 1
        self.seen_means.append(float(image.mean()))
        masks = np.stack([image[..., 0] > t for t in self.thresholds])
        ious = np.linspace(0.9, 0.7, len(self.thresholds))
        return MaskSet(masks, ious, np.full(len(self.thresholds), 0.95))

    def fingerprint(self) -> dict:
        return {"backend": "fake", "tag": self.tag, "thresholds": list(self.thresholds)}


def gradient_image(height: int = 12, width: int = 16, seed: int = 0) -> np.ndarray:
    """Red channel ramps left to right (so the fake's masks are nested column bands)."""
    rng = np.random.default_rng(seed)
    img = rng.random((height, width, 3)).astype(np.float32) * 0.1
    img[..., 0] = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    return img
