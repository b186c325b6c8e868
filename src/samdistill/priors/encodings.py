"""How a variable number of masks becomes network input.

`to_channels` (numpy, per image) fixes the order and count: masks sorted by area, largest first
(ties keep the segmenter's order), the first `n` kept, zero channels appended. The data pipeline
carries that `(N, H, W)` stack (cropped/flipped with the image), and `encode` turns a batch
`(B, N, H, W)` into the network's prior input on whatever device the batch lives on:

- ``channels``: the stack itself, N channels (SAM4IR; the paper does not state its encoding).
- ``label``: one channel, value `n + 1` where mask n is the topmost mask at that pixel, 0 where
  no mask covers it. "Topmost" is the highest index: masks are painted in stack order, so later
  (smaller) masks cover earlier (larger) ones - the smallest mask is on top where they overlap.
- ``gray``: one channel, `label / N`, i.e. mask n gets gray level `(n + 1) / N` (evenly spaced in
  (0, 1], the largest mask darkest, background 0). N is the stack's channel count (the configured
  `num_masks`, padding included), so a mask's level does not depend on how many real masks an
  image has. SAM-Deblur and SAM-dehaze feed such a single gray-coded map.
- ``boundary``: one channel, 1 where a pixel differs from one of its 4-neighbours (inside the
  image) in membership of any mask, else 0. Both pixels along an edge are marked.
- ``region_mean`` (3 channels, needs the image, I1 in SAM4IR) and ``region_label`` (1 channel):
  see `priors/region_maps.py`.

``boundary``, ``region_mean`` and ``region_label`` do not depend on the order of the masks in the
stack; ``channels``, ``gray`` and ``label`` do (a mask's channel or level is its area rank).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from samdistill.priors.maskset import MaskSet, largest_first
from samdistill.priors.region_maps import region_label, region_mean

ENCODINGS = ("channels", "gray", "label", "boundary", "region_mean", "region_label")
ORDER_FREE = ("boundary", "region_mean", "region_label")


def to_channels(maskset: MaskSet, n: int) -> np.ndarray:
    """`(n, H, W)` float32 {0, 1}: largest masks first, truncated to n, zero padded."""
    if n < 1:
        raise ValueError(f"number of mask channels must be >= 1, got {n}")
    height, width = maskset.size
    order = largest_first(maskset.area, n)  # the order of sorted_by_area, without copying every mask
    k = len(order)
    out = np.empty((n, height, width), np.float32)  # not np.zeros: only the padding needs zeroing
    out[:k] = maskset.masks[:k] if np.array_equal(order, np.arange(k)) else maskset.masks[order]
    out[k:] = 0.0
    return out


def encoded_channels(kind: str, n: int) -> int:
    """Channels `encode(stack_with_n_masks, kind)` produces."""
    _check_kind(kind)
    return {"channels": n, "region_mean": 3}.get(kind, 1)


def encode(stack: torch.Tensor, kind: str, image: Optional[torch.Tensor] = None) -> torch.Tensor:
    """`(B, N, H, W)` mask stack -> `(B, C, H, W)` float prior input (see the module doc).
    `image`: `(B, 3, H, W)`, needed by ``region_mean``."""
    _check_kind(kind)
    if stack.ndim != 4:
        raise ValueError(f"mask stack must be (B, N, H, W), got shape {tuple(stack.shape)}")
    if kind == "channels":
        return stack
    if kind == "region_mean":
        if image is None:
            raise ValueError("mask encoding 'region_mean' needs the image whose colors it averages")
        return region_mean(stack, image)
    if kind == "region_label":
        return region_label(stack, _float_dtype(stack))
    if kind == "label":
        return label_map(stack)
    if kind == "gray":
        n = stack.shape[1]
        return label_map(stack) / n if n > 0 else label_map(stack)
    return boundary(stack)


def label_map(stack: torch.Tensor) -> torch.Tensor:
    """`(B, 1, H, W)`: index + 1 of the topmost (highest-index) mask at each pixel, 0 if none."""
    b, n, h, w = stack.shape
    if n == 0:
        return stack.new_zeros((b, 1, h, w), dtype=_float_dtype(stack))
    labels = torch.arange(1, n + 1, device=stack.device, dtype=_float_dtype(stack)).view(1, n, 1, 1)
    return ((stack > 0.5) * labels).amax(dim=1, keepdim=True)


def boundary(stack: torch.Tensor) -> torch.Tensor:
    """`(B, 1, H, W)` float: 1 where membership differs from a 4-neighbour (shift ops, any device)."""
    inside = stack > 0.5
    b, _, h, w = stack.shape
    edge = torch.zeros((b, h, w), dtype=torch.bool, device=stack.device)
    vertical = (inside[:, :, 1:, :] != inside[:, :, :-1, :]).any(dim=1)  # between rows y and y+1
    horizontal = (inside[:, :, :, 1:] != inside[:, :, :, :-1]).any(dim=1)  # between columns
    edge[:, :-1, :] |= vertical
    edge[:, 1:, :] |= vertical
    edge[:, :, :-1] |= horizontal
    edge[:, :, 1:] |= horizontal
    return edge.unsqueeze(1).to(_float_dtype(stack))


def boundary_map(maskset: MaskSet) -> np.ndarray:
    """`(H, W)` bool edges of a MaskSet (same rule as `encode(..., "boundary")`), in numpy."""
    inside = maskset.masks
    height, width = maskset.size
    edge = np.zeros((height, width), bool)
    if len(maskset) == 0:
        return edge
    vertical = (inside[:, 1:, :] != inside[:, :-1, :]).any(axis=0)
    horizontal = (inside[:, :, 1:] != inside[:, :, :-1]).any(axis=0)
    edge[:-1, :] |= vertical
    edge[1:, :] |= vertical
    edge[:, :-1] |= horizontal
    edge[:, 1:] |= horizontal
    return edge


def _float_dtype(t: torch.Tensor) -> torch.dtype:
    return t.dtype if t.is_floating_point() else torch.float32


def _check_kind(kind: str) -> None:
    if kind not in ENCODINGS:
        raise ValueError(f"unknown mask encoding {kind!r}; choose one of {', '.join(ENCODINGS)}")
