"""Paired geometric transforms: one random draw, applied identically to LQ, GT and the mask stack."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from samdistill.core.errors import DataError


@dataclass(frozen=True)
class TransformParams:
    top: int
    left: int
    size: Optional[int]  # None: no crop
    hflip: bool
    vflip: bool
    k_rot: int  # number of 90-degree counter-clockwise rotations, 0..3


class PairedTransform:
    """Random square crop, then horizontal flip, vertical flip, rotation by k * 90 degrees."""

    def __init__(self, crop_size: Optional[int] = None, hflip: bool = False, vflip: bool = False, rot90: bool = False):
        if crop_size is not None and crop_size < 1:
            raise DataError(f"crop_size must be >= 1, got {crop_size}")
        self.crop_size = crop_size
        self.hflip = hflip
        self.vflip = vflip
        self.rot90 = rot90

    def sample(self, rng: np.random.Generator, height: int, width: int) -> TransformParams:
        """Draw the parameters for one (height x width) item. Same rng state -> same parameters."""
        size = self.crop_size
        if size is not None and (height < size or width < size):
            raise DataError(f"image is {width}x{height} (WxH), smaller than crop_size {size}; "
                            "lower data.crop_size or use larger images")
        top = int(rng.integers(0, height - size + 1)) if size else 0
        left = int(rng.integers(0, width - size + 1)) if size else 0
        # Always draw all three so the stream position does not depend on which flags are on.
        draws = rng.random(2)
        k_rot = int(rng.integers(0, 4))
        return TransformParams(
            top=top,
            left=left,
            size=size,
            hflip=bool(self.hflip and draws[0] < 0.5),
            vflip=bool(self.vflip and draws[1] < 0.5),
            k_rot=k_rot if self.rot90 else 0,
        )

    @staticmethod
    def apply(params: TransformParams, array: np.ndarray, channels_first: bool = False) -> np.ndarray:
        """Apply to an (H, W[, C]) array, or (C, H, W) with ``channels_first=True``; returns a contiguous copy."""
        h_axis, w_axis = (1, 2) if channels_first else (0, 1)
        if array.ndim < 2 or (channels_first and array.ndim != 3):
            raise DataError(f"cannot transform an array of shape {array.shape} (channels_first={channels_first})")
        out = array
        if params.size is not None:
            index = [slice(None)] * array.ndim
            index[h_axis] = slice(params.top, params.top + params.size)
            index[w_axis] = slice(params.left, params.left + params.size)
            out = out[tuple(index)]
        if params.hflip:
            out = np.flip(out, axis=w_axis)
        if params.vflip:
            out = np.flip(out, axis=h_axis)
        if params.k_rot:
            out = np.rot90(out, k=params.k_rot, axes=(h_axis, w_axis))
        return np.ascontiguousarray(out)
