"""Unlabeled target panoramas with SAM's masks of every sliding window, for the adaptation stage.

An item is one whole panorama plus, for each of its K windows (`WindowGrid`: horizontal, or a
grid with GoodSAM++'s vertical sliding), the N largest masks the segmenter found in that window:
`{"image": (3, H, W) float, "masks": (K, N, h, w) uint8, "mask_class" (K, N) int64 (-1: class-less, as
SAM's; SAM 3 masks carry one), "mask_score" (K, N) float32,
"name", "index"}`, and `"label"` (H, W) int64 for a labeled panorama (to score pseudo-labels). Two ways to get a window's masks (`masks_per_window`):

- True (default, what the paper does): segment each window as its own image. SAM resizes the
  longest side to 1024 px, so a 2048x400 panorama segmented whole would be seen at 1024x200;
  a 512-px window keeps full resolution. Cached per window (its pixels are its cache key).
- False: segment the panorama once and cut every mask to the window (cheaper; needed by the
  street world's ideal segmenter, which knows whole rendered images, not crops).

Masks go through the priors subsystem (`PriorProvider`: cache, any backend), so SAM never runs
twice on the same window.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from samdistill.data.io import read_image, to_tensor
from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.dataset import read_label, to_classes
from samdistill.data.segmentation.layouts import resolve_samples
from samdistill.goodsam.windows import WindowConfig, WindowGrid
from samdistill.priors.maskset import MaskSet, largest_first
from samdistill.priors.rle_masks import RunLengthMasks


def top_order(masks: np.ndarray, n: int) -> list[int]:
    """Indices of the n largest non-empty masks of an `(M, H, W)` stack, largest first."""
    area = masks.reshape(len(masks), -1).sum(1)
    return [int(i) for i in largest_first(area, n, keep=area > 0)]  # the priors' rule, empty masks left out


def top_masks(masks: np.ndarray, n: int) -> np.ndarray:
    """`(n, H, W)` uint8: the n largest non-empty masks of an `(M, H, W)` stack, largest first, zero padded."""
    order = top_order(masks, n)
    out = np.zeros((n, *masks.shape[1:]), np.uint8)
    if order:
        out[: len(order)] = masks[order]
    return out


def _top_classes(order: list[int], class_id: np.ndarray, score: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The classes (-1 none) and scores (NaN none) of the chosen masks, padded like `top_masks`."""
    cls, sc = np.full(n, -1, np.int64), np.full(n, np.nan, np.float32)
    cls[: len(order)], sc[: len(order)] = class_id[order], score[order]
    return cls, sc


class PanoramaWindows(Dataset):
    def __init__(self, cfg: SegDatasetConfig, windows: WindowConfig, provider: Any, num_masks: int,
                 masks_per_window: bool = True, samples: Optional[list] = None):
        self.cfg = cfg
        self.samples = list(samples) if samples is not None else resolve_samples(cfg)
        self.windows = windows
        self.provider, self.num_masks = provider, num_masks
        self.masks_per_window = masks_per_window

    def __len__(self) -> int:
        return len(self.samples)

    def window_masks(self, image: np.ndarray) -> np.ndarray:
        """`(K, N, h, w)` uint8 masks of every window of one panorama (float (H, W, 3))."""
        return self.window_masks_and_classes(image)[0]

    def window_masks_and_classes(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks `(K, N, h, w)` uint8, their classes `(K, N)` int64 (-1: none, as SAM's) and scores `(K, N)`."""
        height, width = image.shape[:2]
        if width < self.windows.window:
            raise ValueError(f"panorama is {width} px wide, narrower than one window ({self.windows.window} px)")
        if self.windows.window_h is not None and height < self.windows.window_h:
            raise ValueError(f"panorama is {height} px high, lower than one window ({self.windows.window_h} px)")
        grid = WindowGrid.for_size(self.windows, height, width)
        if self.masks_per_window:
            sets = [self.provider.masks_for(np.ascontiguousarray(grid.crop(image.transpose(2, 0, 1), k)
                                                                 .transpose(1, 2, 0))) for k in range(len(grid))]
            stacks = [(ms.masks, ms.class_id, ms.class_score) for ms in sets]
        else:
            # cached masks as runs: only the masks a window keeps are decoded. Not cached yet, a vertical grid,
            # or a provider without runs (no disk cache, a stand-in): every mask decoded (and cached).
            runs = None if grid.vertical else getattr(self.provider, "runs_for", lambda _: None)(image)
            if runs is not None:
                return self._cut_runs(runs, grid)
            return self._cut_whole(self.provider.masks_for(image), grid)
        masks, classes, scores = [], [], []
        for m, cls, sc in stacks:
            order = top_order(m, self.num_masks)
            masks.append(top_masks(m, self.num_masks))
            c, v = _top_classes(order, cls, sc, self.num_masks)
            classes.append(c)
            scores.append(v)
        return np.stack(masks), np.stack(classes), np.stack(scores)

    def _cut_whole(self, whole: MaskSet, grid: WindowGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole panorama's masks cut to every window, the N largest inside each: chosen from every
        mask's area per window first, so only the chosen masks are cropped (the same result as cropping
        all of them, several times faster on a panorama with hundreds of masks)."""
        orders = self._window_orders(grid.column_sums(whole.masks))
        return self._assemble(orders, grid, lambda order, k: grid.crop(whole.masks[order], k),
                              whole.class_id, whole.class_score)

    def _cut_runs(self, runs: RunLengthMasks, grid: WindowGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`_cut_whole` on the cache's run-length masks (full-height windows): the areas per window come
        from the runs and only the masks some window keeps are decoded (the same result)."""
        orders = self._window_orders(grid.window_sums(runs.column_counts()))
        kept = sorted({i for order in orders for i in order})
        columns, row = runs.columns(kept), {m: j for j, m in enumerate(kept)}
        return self._assemble(orders, grid,
                              lambda order, k: grid.crop(columns[[row[i] for i in order]].transpose(0, 2, 1), k),
                              runs.class_id, runs.class_score)

    def _window_orders(self, areas: np.ndarray) -> list[list[int]]:
        """Per window, the N largest masks inside it (non-empty), largest first; `areas` is `(M, K)`."""
        n = self.num_masks
        return [[int(i) for i in largest_first(areas[:, k], n, keep=areas[:, k] > 0)] for k in range(areas.shape[1])]

    def _assemble(self, orders: list[list[int]], grid: WindowGrid, crop: Any, class_id: np.ndarray,
                  class_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.num_masks
        masks = np.zeros((len(grid), n, *grid.window_hw), np.uint8)
        classes, scores = [], []
        for k, order in enumerate(orders):
            if order:
                masks[k, : len(order)] = crop(order, k)
            c, v = _top_classes(order, class_id, class_score, n)
            classes.append(c)
            scores.append(v)
        return masks, np.stack(classes), np.stack(scores)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        image = read_image(sample.image)
        try:
            masks, classes, scores = self.window_masks_and_classes(image)
        except ValueError as err:
            raise ValueError(f"{sample.image}: {err}") from err
        item = {"image": to_tensor(image), "masks": torch.from_numpy(masks), "mask_class": torch.from_numpy(classes),
                "mask_score": torch.from_numpy(scores), "name": sample.name, "index": index}
        if sample.label is not None:  # labeled panoramas: to score pseudo-labels
            label = to_classes(read_label(sample.label, sample.label_kind), self.cfg.classes)
            if label.shape != image.shape[:2]:
                raise ValueError(f"{sample.label}: label is {label.shape[1]}x{label.shape[0]} but its panorama "
                                 f"{sample.image} is {image.shape[1]}x{image.shape[0]} (WxH)")
            item["label"] = torch.from_numpy(label.astype(np.int64))
        return item
