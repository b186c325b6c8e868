"""Which masks become the N channels of a training crop (`priors.select`).

`image` (before issue 10): the N largest masks of the whole image are kept, then cropped with
the image. At 64-128 px crops of a 481x321 photo most of them miss the crop (empty channels) or
cover all of it (constant channels).

`crop` (default): the provider keeps the `priors.crop_candidates` largest masks of the whole
image (bit-packed per row, so a crop unpacks only its own rows and bytes), the crop is cut from
every candidate, and the N largest *inside the crop* are chosen. Masks empty in the crop are
never chosen; with `priors.drop_full_masks` neither are masks covering the whole crop (a
constant channel says nothing about where things are). Ties keep the whole-image order.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from samdistill.priors.maskset import MaskSet


class Window(NamedTuple):
    top: int
    left: int
    height: int
    width: int


class PackedCandidates:
    """The K largest masks of an image, packed along rows: `(K, H, ceil(W/8))` uint8."""

    def __init__(self, maskset: MaskSet, k: int):
        order = np.argsort(-maskset.area, kind="stable")
        if k > 0:
            order = order[:k]
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
    idx = np.nonzero(usable)[0]
    chosen = idx[np.argsort(-area[idx], kind="stable")][:n]
    out = np.zeros((n, window.height, window.width), np.float32)
    out[:len(chosen)] = crop[chosen]
    return out
