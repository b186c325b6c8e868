"""`MaskSet`: the one type every segmenter returns — N boolean masks for one image.

Mirrors SA-1B / segment-anything's AMG records: per-mask area, XYWH bounding box, predicted IoU
and stability score (NaN where a segmenter has no such score, e.g. the offline one). A
concept-prompted segmenter (SAM 3) also gives each mask a class id (index into its class list;
-1 = no class, as for every class-less segmenter) and that class's score (NaN when none).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


def largest_first(area: np.ndarray, n: Optional[int] = None, keep: Optional[np.ndarray] = None) -> np.ndarray:
    """Indices of masks by `area`, largest first, ties in stored order (a stable sort): the one rule
    behind "the N largest masks" (the N-channel encoding, the cache's `top`, the crop's candidates
    and the masks inside a crop, GoodSAM's masks per window).

    n: only the first n (None: all). keep: one bool per mask; the masks it rules out are left out
    (a crop leaves out its empty and full masks, GoodSAM's windows their empty ones).
    """
    order = np.argsort(-np.asarray(area, np.int64), kind="stable")
    if keep is not None:
        order = order[np.asarray(keep, bool)[order]]
    return order if n is None else order[:n]


@dataclass
class MaskSet:
    masks: np.ndarray  # (N, H, W) bool
    predicted_iou: np.ndarray = field(default=None)  # (N,) float32, NaN if unknown
    stability_score: np.ndarray = field(default=None)  # (N,) float32, NaN if unknown
    class_id: np.ndarray = field(default=None)  # (N,) int64, -1 = no class
    class_score: np.ndarray = field(default=None)  # (N,) float32, NaN if no class

    def __post_init__(self) -> None:
        m = np.asarray(self.masks)
        if m.ndim != 3:
            raise ValueError(f"MaskSet.masks must be (N, H, W), got shape {m.shape}")
        self.masks = m.astype(bool, copy=False)
        n = m.shape[0]
        for name in ("predicted_iou", "stability_score"):
            v = getattr(self, name)
            v = np.full(n, np.nan, np.float32) if v is None else np.asarray(v, np.float32).reshape(-1)
            if v.shape[0] != n:
                raise ValueError(f"MaskSet.{name} has {v.shape[0]} entries for {n} masks")
            setattr(self, name, v)
        c = np.full(n, -1, np.int64) if self.class_id is None else np.asarray(self.class_id).reshape(-1)
        if c.shape[0] != n:
            raise ValueError(f"MaskSet.class_id has {c.shape[0]} entries for {n} masks")
        if n and (not np.issubdtype(c.dtype, np.integer) or c.min() < -1):
            raise ValueError("MaskSet.class_id must be integers >= -1 (-1 = no class)")
        self.class_id = c.astype(np.int64, copy=False)
        v = np.full(n, np.nan, np.float32) if self.class_score is None else np.asarray(self.class_score, np.float32).reshape(-1)
        if v.shape[0] != n:
            raise ValueError(f"MaskSet.class_score has {v.shape[0]} entries for {n} masks")
        self.class_score = v

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @property
    def has_classes(self) -> bool:
        """Whether any mask carries a class (a concept-prompted segmenter's output)."""
        return bool((self.class_id >= 0).any())

    def take(self, order: np.ndarray) -> "MaskSet":
        """The masks at `order` (indices), every per-mask field with them."""
        return MaskSet(self.masks[order], self.predicted_iou[order], self.stability_score[order],
                       self.class_id[order], self.class_score[order])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the image the masks belong to."""
        return int(self.masks.shape[1]), int(self.masks.shape[2])

    @property
    def area(self) -> np.ndarray:
        # count_nonzero per mask is faster than a bool sum over axes (docs/benchmarks.md); works for N = 0 too
        return np.array([np.count_nonzero(m) for m in self.masks], np.int64).reshape(len(self))

    @property
    def bbox(self) -> np.ndarray:
        """(N, 4) XYWH boxes (COCO / SA-1B convention); zeros for empty masks."""
        out = np.zeros((len(self), 4), np.int64)
        for i, m in enumerate(self.masks):
            ys, xs = np.nonzero(m.any(1))[0], np.nonzero(m.any(0))[0]
            if len(ys):
                out[i] = [xs[0], ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1]
        return out

    def sorted_by_area(self) -> "MaskSet":
        """Largest first (ties keep their order), the order of the N-channel encoding."""
        return self.take(largest_first(self.area))

    @classmethod
    def empty(cls, height: int, width: int) -> "MaskSet":
        return cls(np.zeros((0, height, width), bool))
