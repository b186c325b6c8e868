"""What every segmenter is: a callable image -> `MaskSet` with a cache fingerprint.

Concrete segmenters (offline, SAM, the street world's ideal one) import this module, never
`priors.segmenter`, which chooses among them: so no segmenter module imports its chooser.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from samdistill.priors.maskset import MaskSet


@runtime_checkable
class Segmenter(Protocol):
    def __call__(self, image: np.ndarray) -> MaskSet: ...

    def fingerprint(self) -> dict[str, Any]: ...


class SegmenterBase:
    """Optional base class: gives `batch()` (a loop) and input checking to concrete segmenters."""

    def __call__(self, image: np.ndarray) -> MaskSet:  # pragma: no cover - abstract
        raise NotImplementedError

    def fingerprint(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def batch(self, images: Sequence[np.ndarray]) -> list[MaskSet]:
        return [self(image) for image in images]


def segment_batch(segmenter: Segmenter, images: Sequence[np.ndarray]) -> list[MaskSet]:
    """Use the segmenter's own `batch()` when it has one (SAM batches prompts), else loop."""
    batch = getattr(segmenter, "batch", None)
    return list(batch(images)) if callable(batch) else [segmenter(image) for image in images]


def check_image(image: np.ndarray) -> np.ndarray:
    """The image contract: float (H, W, 3) in [0, 1]. Returns it as float32."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"segmenter input must be an (H, W, 3) RGB image, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"segmenter input must be float in [0, 1], got dtype {image.dtype}")
    return image.astype(np.float32, copy=False)
