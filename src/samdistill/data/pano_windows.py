"""Sliding windows over an equirectangular panorama, with wrap-around across the 360° seam.

GoodSAM samples overlapping horizontal windows from the panorama (the paper sweeps window size and
stride in its Table 4 but the values are unknown to us: `window` and `stride` are parameters);
GoodSAM++ (DARv2) also slides vertically. Column 0 and column W-1 of an equirectangular image are
neighbours on the sphere, so with `wrap` windows continue past the right edge into column 0:
starts are 0, s, 2s, ... < W, and every window is read with modular column indices. Vertically
nothing wraps (the poles are not neighbours): the last window is aligned to the bottom edge.

Conventions: window k covers columns `(starts[k] + arange(window)) % width`. Batched windows are
laid out batch-major, `(B*K, ...)` = b0k0, b0k1, ..., b1k0, ... (or `(B, K, ...)` with flat=False).

Pure geometry over arrays (like `transforms.py`), below every user: GoodSAM trains on these windows
(`goodsam/`, whose `goodsam.windows` re-exports this module with its `WindowConfig`),
`inference.segment` runs a network over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F


class Overlap(NamedTuple):
    """Columns shared by windows i < j: `cols_i[n]` of window i is the pixel `cols_j[n]` of window j."""

    i: int
    j: int
    cols_i: tuple[int, ...]
    cols_j: tuple[int, ...]


class Overlap2D(NamedTuple):
    """Pixels shared by 2-D windows i < j: rows `rows_i`/`rows_j` x columns `cols_i`/`cols_j`."""

    i: int
    j: int
    rows_i: tuple[int, ...]
    rows_j: tuple[int, ...]
    cols_i: tuple[int, ...]
    cols_j: tuple[int, ...]


def _check(size: int, window: int, stride: int, what: str = "width") -> None:
    if window <= 0:
        raise ValueError(f"window must be > 0 px, got {window}")
    if stride <= 0 or stride > window:
        raise ValueError(f"stride must be in [1, window={window}] so windows touch or overlap, got {stride}")
    if size < window:
        raise ValueError(f"panorama {what} {size} px is narrower than one window ({window} px)")


def window_starts(width: int, window: int, stride: int, wrap: bool = True) -> list[int]:
    """First column of every window; together they cover every column.

    wrap: 0, stride, ... while < width (the last ones cross the seam when stride does not divide
    width). No wrap: 0, stride, ... while the window fits, then one aligned to the right edge.
    """
    _check(width, window, stride)
    if wrap:
        return list(range(0, width, stride))
    starts = list(range(0, width - window + 1, stride))
    if starts[-1] != width - window:
        starts.append(width - window)
    return starts


def window_columns(starts: Sequence[int], window: int, width: int) -> torch.Tensor:
    """`(K, window)` long: the (modular) columns each window reads."""
    s = torch.as_tensor(list(starts), dtype=torch.long).view(-1, 1)
    return (s + torch.arange(window).view(1, -1)) % width


def _shared(start_a: int, start_b: int, window: int, width: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    # Walk window a in its own order; a column is shared if its offset in b is inside b.
    in_a, in_b = [], []
    for off in range(window):
        off_b = (start_a + off - start_b) % width
        if off_b < window:
            in_a.append(off)
            in_b.append(off_b)
    return tuple(in_a), tuple(in_b)


def overlaps(starts: Sequence[int], window: int, width: int) -> list[Overlap]:
    """Every pair i < j of windows that share columns (across the seam too), in window i's column order."""
    out = []
    for i in range(len(starts)):
        for j in range(i + 1, len(starts)):
            cols_i, cols_j = _shared(starts[i], starts[j], window, width)
            if cols_i:
                out.append(Overlap(i, j, cols_i, cols_j))
    return out


def extract_windows(x: torch.Tensor, starts: Sequence[int], window: int, flat: bool = True) -> torch.Tensor:
    """`(B, *rest, W)` -> `(B*K, *rest, window)` (flat) or `(B, K, *rest, window)`.

    Works for images `(B, 3, H, W)`, logits and label maps `(B, H, W)` alike.
    """
    width = x.shape[-1]
    if width < window:
        raise ValueError(f"panorama width {width} px is narrower than one window ({window} px)")
    cols = window_columns(starts, window, width).to(x.device)
    k = cols.shape[0]
    win = x[..., cols.flatten()].unflatten(-1, (k, window))  # (B, *rest, K, window)
    win = win.movedim(-2, 1)  # (B, K, *rest, window)
    return win.flatten(0, 1) if flat else win


def _as_bk(windows: torch.Tensor, k: int) -> torch.Tensor:
    if windows.shape[0] % k:
        raise ValueError(f"{windows.shape[0]} windows in the batch dimension is not a multiple of K={k}")
    return windows.unflatten(0, (windows.shape[0] // k, k))


def stitch(window_logits: torch.Tensor, starts: Sequence[int], window: int, width: int,
           flat: bool = True) -> torch.Tensor:
    """Inverse of `extract_windows` for float maps: `(B*K, *rest, window)` -> `(B, *rest, width)`.

    Columns seen by several windows get the mean of their values (stitch logits or probabilities:
    the caller chooses what is averaged). Every column must be covered.
    """
    k = len(starts)
    win = _as_bk(window_logits, k) if flat else window_logits  # (B, K, *rest, window)
    if win.shape[1] != k or win.shape[-1] != window:
        raise ValueError(f"windows of shape {tuple(win.shape)} do not match K={k} windows of {window} px")
    cols = window_columns(starts, window, width).to(win.device).flatten()
    count = torch.bincount(cols, minlength=width)
    if (count == 0).any():
        missing = torch.nonzero(count == 0).flatten()[:5].tolist()
        raise ValueError(f"windows leave columns uncovered (first: {missing}) of a {width} px panorama")
    src = win.movedim(1, -2).flatten(-2)  # (B, *rest, K*window)
    out = torch.zeros(*src.shape[:-1], width, dtype=src.dtype, device=src.device)
    out.index_add_(-1, cols, src)
    return out / count.to(out.dtype)


# ---- GoodSAM++: windows sliding horizontally (with wrap) and vertically (no wrap) -----------------

def grid_windows(height: int, width: int, window_hw: tuple[int, int], stride_hw: tuple[int, int],
                 wrap: bool = True) -> list[tuple[int, int]]:
    """(top, left) of every 2-D window, row-major (tops outer, lefts inner)."""
    _check(height, window_hw[0], stride_hw[0], "height")
    tops = window_starts(height, window_hw[0], stride_hw[0], wrap=False)
    lefts = window_starts(width, window_hw[1], stride_hw[1], wrap=wrap)
    return [(t, l) for t in tops for l in lefts]


def extract_windows_2d(x: torch.Tensor, boxes: Sequence[tuple[int, int]], window_hw: tuple[int, int],
                       flat: bool = True) -> torch.Tensor:
    """`(B, *rest, H, W)` -> `(B*K, *rest, wh, ww)` (or `(B, K, ...)`); columns modular, rows not."""
    (wh, ww), (height, width) = window_hw, x.shape[-2:]
    if height < wh or width < ww:
        raise ValueError(f"panorama {height}x{width} px is smaller than one window ({wh}x{ww} px)")
    out = []
    for top, left in boxes:
        if top < 0 or top + wh > height:
            raise ValueError(f"window rows {top}..{top + wh - 1} leave the {height} px panorama")
        cols = ((left + torch.arange(ww)) % width).to(x.device)
        out.append(x[..., top:top + wh, :][..., cols])
    win = torch.stack(out, 1)  # (B, K, *rest, wh, ww)
    return win.flatten(0, 1) if flat else win


def stitch_2d(window_logits: torch.Tensor, boxes: Sequence[tuple[int, int]], window_hw: tuple[int, int],
              size_hw: tuple[int, int], flat: bool = True) -> torch.Tensor:
    """Inverse of `extract_windows_2d`: average of every window covering a pixel -> `(B, *rest, H, W)`."""
    (wh, ww), (height, width), k = window_hw, size_hw, len(boxes)
    win = _as_bk(window_logits, k) if flat else window_logits
    out = torch.zeros(*win.shape[:1], *win.shape[2:-2], height, width, dtype=win.dtype, device=win.device)
    count = torch.zeros(height, width, dtype=win.dtype, device=win.device)
    for n, (top, left) in enumerate(boxes):
        rows = torch.arange(top, top + wh, device=win.device).view(-1, 1).expand(wh, ww)
        cols = ((left + torch.arange(ww, device=win.device)) % width).view(1, -1).expand(wh, ww)
        out[..., rows, cols] += win[:, n]  # indices are distinct inside one window (ww <= W)
        count[rows, cols] += 1
    if (count == 0).any():
        raise ValueError(f"windows leave pixels of the {height}x{width} panorama uncovered")
    return out / count


def overlaps_2d(boxes: Sequence[tuple[int, int]], window_hw: tuple[int, int],
                size_hw: tuple[int, int]) -> list[Overlap2D]:
    """Every pair i < j of 2-D windows sharing pixels: the shared block is rows x cols."""
    (wh, ww), (height, width) = window_hw, size_hw
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (ti, li), (tj, lj) = boxes[i], boxes[j]
            # rows never wrap: use a modulus no offset can reach
            rows_i, rows_j = _shared(ti, tj, wh, height + wh)
            cols_i, cols_j = _shared(li, lj, ww, width)
            if rows_i and cols_i:
                out.append(Overlap2D(i, j, rows_i, rows_j, cols_i, cols_j))
    return out


# ---- one object for both: what training, pseudo-label scoring and the demo use ---------------------

@dataclass(frozen=True)
class WindowGrid:
    """The windows of one panorama size: horizontal only (`vertical=False`, every window full height,
    the 1-D functions above) or GoodSAM++'s grid (the 2-D functions). `boxes` are (top, left)."""

    boxes: tuple[tuple[int, int], ...]
    window_hw: tuple[int, int]
    size_hw: tuple[int, int]
    vertical: bool

    @classmethod
    def for_size(cls, cfg: Any, height: int, width: int) -> "WindowGrid":
        """cfg: `window`, `stride`, `wrap`, `window_h`, `stride_h` (`goodsam.windows` of a config)."""
        if cfg.window_h is None:
            starts = window_starts(width, cfg.window, cfg.stride, cfg.wrap)
            return cls(tuple((0, s) for s in starts), (height, cfg.window), (height, width), False)
        stride_h = cfg.stride_h if cfg.stride_h is not None else cfg.window_h
        boxes = grid_windows(height, width, (cfg.window_h, cfg.window), (stride_h, cfg.stride), cfg.wrap)
        return cls(tuple(boxes), (cfg.window_h, cfg.window), (height, width), True)

    def __len__(self) -> int:  # K, the number of windows
        return len(self.boxes)

    @property
    def starts(self) -> list[int]:
        return [left for _, left in self.boxes]

    def extract(self, x: torch.Tensor, flat: bool = True) -> torch.Tensor:
        if self.vertical:
            return extract_windows_2d(x, self.boxes, self.window_hw, flat)
        return extract_windows(x, self.starts, self.window_hw[1], flat)

    def stitch(self, window_logits: torch.Tensor, flat: bool = True) -> torch.Tensor:
        if self.vertical:
            return stitch_2d(window_logits, self.boxes, self.window_hw, self.size_hw, flat)
        return stitch(window_logits, self.starts, self.window_hw[1], self.size_hw[1], flat)

    def stitch_labels(self, window_labels: torch.Tensor, num_classes: int, ignore_index: int = 255) -> torch.Tensor:
        """Window label maps `(B*K, h, w)` -> panorama labels `(B, H, W)`: where windows overlap, the class
        most of them give (ties: the lowest id); `ignore_index` where none decides."""
        votes = F.one_hot(window_labels.long().clamp(0, num_classes), num_classes + 1)[..., :num_classes]
        votes = self.stitch(votes.movedim(-1, 1).float())  # ignored pixels vote for nothing
        labels = votes.argmax(1)
        return torch.where(votes.amax(1) > 0, labels, torch.full_like(labels, ignore_index))

    def overlaps(self) -> list:
        if self.vertical:
            return overlaps_2d(self.boxes, self.window_hw, self.size_hw)
        return overlaps(self.starts, self.window_hw[1], self.size_hw[1])

    def crop(self, array, k: int):
        """Window k of a numpy/torch array `(..., H, W)` (modular columns); a new array, never a view."""
        (top, left), (wh, ww), width = self.boxes[k], self.window_hw, self.size_hw[1]
        rows = array[..., top:top + wh, :]
        # two slices, not a column list: fancy indexing of a large mask stack is ~10x slower
        parts = [rows[..., left:min(left + ww, width)]]
        if left + ww > width:  # the window crosses the 360-degree seam
            parts.append(rows[..., :left + ww - width])
        if isinstance(array, torch.Tensor):
            return torch.cat(parts, -1) if len(parts) > 1 else parts[0].clone()
        return np.concatenate(parts, -1) if len(parts) > 1 else parts[0].copy()

    def column_sums(self, array: np.ndarray) -> np.ndarray:
        """`(..., K)`: the sum of every window's pixels of a numpy `(..., H, W)` array (e.g. each mask's area
        inside each window), from per-column sums: the array is read once, not once per window."""
        if self.vertical:
            return np.stack([self.crop(array, k).sum((-2, -1), dtype=np.int64) for k in range(len(self))], -1)
        columns = np.count_nonzero(array, axis=-2) if array.dtype == bool else array.sum(-2, dtype=np.int64)
        return self.window_sums(columns)

    def window_sums(self, columns: np.ndarray) -> np.ndarray:
        """`(..., K)` from per-column sums `(..., W)` of full-height windows (horizontal grids only)."""
        if self.vertical:
            raise ValueError("window_sums needs full-height windows (a horizontal grid)")
        width = self.size_hw[1]
        cumulative = np.concatenate([np.zeros((*columns.shape[:-1], 1), np.int64), np.cumsum(columns, -1)], -1)
        out = []
        for left in self.starts:
            right = left + self.window_hw[1]
            total = cumulative[..., min(right, width)] - cumulative[..., left]
            if right > width:
                total = total + cumulative[..., right - width]
            out.append(total)
        return np.stack(out, -1)
