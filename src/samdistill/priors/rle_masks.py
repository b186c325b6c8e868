"""An image's masks still run-length encoded, as the cache stores them (COCO RLE: runs alternate 0 and
1, column by column), for callers that need only a few of hundreds of masks: each mask's pixel count
per column comes from the runs alone, and only the masks chosen from those counts are decoded.
GoodSAM cuts a panorama's masks to full-height windows this way (`goodsam.data`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def run_positions(offsets: np.ndarray) -> np.ndarray:
    """Index of every run within its own string (even: a run of 0s, odd: a run of 1s)."""
    return np.arange(offsets[-1]) - np.repeat(offsets[:-1], np.diff(offsets))


def runs_to_columns(runs: np.ndarray, offsets: np.ndarray, chosen: np.ndarray, height: int,
                    width: int) -> np.ndarray:
    """`(len(chosen), W, H)` bool, column-major masks of the checked RLEs `chosen` (indices into
    `offsets`): mask i's column c is `[i, c]`."""
    if len(chosen) == 0:
        return np.zeros((0, width, height), bool)
    picked = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in chosen])
    is_one = run_positions(offsets)[picked] % 2 == 1
    return np.repeat(is_one, runs[picked]).reshape(len(chosen), width, height)


@dataclass(frozen=True)
class RunLengthMasks:
    """M masks of an H x W image as checked runs (`runs[offsets[i]:offsets[i + 1]]` is mask i's, each
    covering exactly H*W pixels), with each mask's class (-1: none) and class score (NaN: none)."""

    runs: np.ndarray
    offsets: np.ndarray
    height: int
    width: int
    class_id: np.ndarray
    class_score: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def column_counts(self) -> np.ndarray:
        """`(M, W)` int64: each mask's pixels in each column, without decoding. The masks' runs laid
        end to end cover M*H*W pixels; the 1s before every column boundary (a multiple of H) are the
        1s of the runs that end before it plus the part of the run it falls in."""
        m, h, w = len(self), self.height, self.width
        if m == 0:
            return np.zeros((0, w), np.int64)
        ends = np.cumsum(self.runs)
        ones = np.where(run_positions(self.offsets) % 2 == 1, self.runs, 0)
        ones_through = np.cumsum(ones)
        bounds = np.arange(m * w + 1, dtype=np.int64) * h
        run = np.minimum(np.searchsorted(ends, bounds, side="right"), len(self.runs) - 1)
        inside = np.clip(bounds - (ends[run] - self.runs[run]), 0, self.runs[run])  # the run's pixels before the bound
        before = ones_through[run] - ones[run] + np.where(ones[run] > 0, inside, 0)
        return np.diff(before).reshape(m, w)

    def columns(self, chosen: np.ndarray) -> np.ndarray:
        """`(len(chosen), W, H)` bool: the chosen masks decoded, column-major (`runs_to_columns`)."""
        return runs_to_columns(self.runs, self.offsets, np.asarray(chosen, np.int64), self.height, self.width)
