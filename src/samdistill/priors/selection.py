"""Which masks become the N channels of a training crop (`priors.select`).

`image` (before issue 10): the N largest masks of the whole image are kept, then cropped with
the image. At 64-128 px crops of a 481x321 photo most of them miss the crop (empty channels) or
cover all of it (constant channels).

`crop` (default): the provider keeps the `priors.crop_candidates` largest masks of the whole
image (bit-packed per row, so a crop unpacks only its own rows and bytes), the crop is cut from
every candidate, and the N largest *inside the crop* are chosen. Masks empty in the crop are
never chosen; with `priors.drop_full_masks` neither are masks covering the whole crop (a
constant channel says nothing about where things are). Ties keep the whole-image order.

Full images (validation, with `priors.val_select: tiles`, issue 21): the image is cut into tiles
of the training crop size and each tile gets the N largest masks inside it, exactly what a
training crop at that place gets (`select_in_tiles`). Ranking the whole image instead keeps its
N largest masks, which in a 128x256 street render with ~200 masks are few, large and far coarser
than the ones IR2 trained on. A channel's mask may change at a tile border; training crops never
show such a seam, but inside every tile the statistics are training's.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import numpy as np

from samdistill.priors.maskset import MaskSet, largest_first


class Window(NamedTuple):
    top: int
    left: int
    height: int
    width: int


class PackedCandidates:
    """The K largest masks of an image, packed along rows: `(K, H, ceil(W/8))` uint8."""

    def __init__(self, maskset: MaskSet, k: int):
        order = largest_first(maskset.area, k if k > 0 else None)
        self.height, self.width = maskset.size
        self.bits = np.packbits(maskset.masks[order], axis=-1)

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)

    def crop(self, window: Window) -> np.ndarray:
        """`(K, h, w)` bool: every candidate cut to `window`."""
        t, l, h, w = window
        if t < 0 or l < 0 or t + h > self.height or l + w > self.width or h < 1 or w < 1:
            raise ValueError(f"window {tuple(window)} (top, left, height, width) is outside the "
                             f"{self.height}x{self.width} image")
        b0, b1 = l // 8, (l + w + 7) // 8
        rows = np.unpackbits(self.bits[:, t:t + h, b0:b1], axis=-1)
        return rows[:, :, l - 8 * b0:l - 8 * b0 + w].view(bool)


def select_in_window(candidates: PackedCandidates, window: Optional[Window], n: int,
                     drop_full: bool = True) -> np.ndarray:
    """`(n, h, w)` float32 {0,1}: the n largest candidates inside `window` (None: the whole
    image), empty ones (and, with `drop_full`, full ones) excluded, zero padded."""
    window = Window(0, 0, candidates.height, candidates.width) if window is None else Window(*window)
    crop = candidates.crop(window)
    area = np.array([np.count_nonzero(m) for m in crop], np.int64).reshape(len(crop))
    usable = area > 0
    if drop_full:
        usable &= area < window.height * window.width
    chosen = largest_first(area, n, keep=usable)
    out = np.zeros((n, window.height, window.width), np.float32)
    out[:len(chosen)] = crop[chosen]
    return out


def _tile_starts(size: int, tile: int) -> list[int]:
    """Starts of tiles of side `tile` covering [0, size): a stride of `tile`, the last one
    shifted back to end at the border so every tile has a training crop's size."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile + 1, tile))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts


def tile_windows(height: int, width: int, tile: int) -> Iterator[tuple[Window, tuple[slice, slice]]]:
    """Tiles of side `tile` (the image's side where smaller) covering the image, each with the
    (rows, cols) slices, relative to the tile, of the pixels it owns: every pixel is owned by
    exactly one tile (a shifted last tile owns only what the one before it did not)."""
    if tile < 1:
        raise ValueError(f"tile size must be >= 1, got {tile}")
    th, tw = min(tile, height), min(tile, width)
    rows, cols = _tile_starts(height, th), _tile_starts(width, tw)
    for i, top in enumerate(rows):
        r0 = 0 if i == 0 else rows[i - 1] + th - top
        for j, left in enumerate(cols):
            c0 = 0 if j == 0 else cols[j - 1] + tw - left
            yield Window(top, left, th, tw), (slice(max(0, r0), th), slice(max(0, c0), tw))


def select_in_tiles(candidates: PackedCandidates, tile: int, n: int, drop_full: bool = True) -> np.ndarray:
    """`(n, H, W)` float32 {0,1} for the whole image: in each tile of `tile_windows`, the n
    largest candidates inside that tile (`select_in_window`), as a training crop there gets."""
    out = np.zeros((n, candidates.height, candidates.width), np.float32)
    for window, (rows, cols) in tile_windows(candidates.height, candidates.width, tile):
        chosen = select_in_window(candidates, window, n, drop_full)
        out[:, window.top + rows.start:window.top + rows.stop,
            window.left + cols.start:window.left + cols.stop] = chosen[:, rows, cols]
    return out
