"""Run a restoration network on an image of any size: pad to its multiple, optionally in tiles.

Padding: the input is reflect-padded at the bottom/right up to the network's `pad_multiple`
(`models.registry.pad_multiple`), and the output is cropped back to the input size.

Tiling (tile > 0): the padded image is cut into overlapping tiles of `tile` pixels (rounded up
to the multiple); tile origins lie on the multiple's grid, so down-sampling stages see the same
pixel grid as on the whole image. Tiles are not averaged: each output pixel is copied from a tile
where it lies at least overlap // 2 pixels away from any cut edge. So a network whose receptive
field radius is at most overlap // 2 gives exactly the untiled output; networks with a larger
receptive field (U-Nets, attention) differ slightly near cuts, the usual tiling trade-off.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models.registry import pad_multiple as model_pad_multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad (B, C, H, W) at bottom/right so H and W are multiples of `multiple`.

    Pads larger than the image are done as repeated reflections (a 1-pixel side is replicated).
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    while pad_h or pad_w:
        step_h = min(pad_h, x.shape[-2] - 1)
        step_w = min(pad_w, x.shape[-1] - 1)
        if (pad_h and step_h == 0) or (pad_w and step_w == 0):  # a 1-pixel-wide side
            return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return x


def tile_origins(length: int, tile: int, step: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length); the last one ends at `length`."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _kept_span(start: int, size: int, length: int, margin: int) -> tuple[int, int]:
    """The part of a tile whose pixels are at least `margin` from every interior cut edge."""
    lo = start if start == 0 else start + margin
    hi = start + size if start + size == length else start + size - margin
    return lo, hi


def _run_tiled(model: nn.Module, x: torch.Tensor, tile: int, overlap: int, multiple: int) -> torch.Tensor:
    height, width = x.shape[-2:]
    margin = overlap // 2
    step = ((tile - overlap) // multiple) * multiple
    if step < 1:
        raise ValueError(f"tile={tile} must exceed tile_overlap={overlap} by at least the "
                         f"network's input multiple ({multiple})")
    tile_h, tile_w = min(tile, height), min(tile, width)
    out = None
    for top in tile_origins(height, tile_h, step):
        for left in tile_origins(width, tile_w, step):
            y = model(x[..., top:top + tile_h, left:left + tile_w])
            if out is None:
                out = y.new_empty(y.shape[:2] + (height, width))
            r0, r1 = _kept_span(top, tile_h, height, margin)
            c0, c1 = _kept_span(left, tile_w, width, margin)
            out[..., r0:r1, c0:c1] = y[..., r0 - top:r1 - top, c0 - left:c1 - left]
    return out


def restore_tensor(model: nn.Module, x: torch.Tensor, tile: int = 0, overlap: int = 32,
                   pad_multiple: int | None = None, autocast: bool = False) -> torch.Tensor:
    """Restore a (B, 3, H, W) batch of any size; returns (B, 3, H, W) float32, not clamped.

    tile: 0 runs the whole image at once; N > 0 runs N x N tiles (rounded up to the multiple)
    overlapping by `overlap` pixels. pad_multiple: overrides the network's declared multiple.
    autocast: float16 autocast on CUDA (ignored elsewhere).
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if tile < 0 or overlap < 0:
        raise ValueError(f"tile and overlap must be >= 0, got tile={tile}, overlap={overlap}")
    multiple = int(pad_multiple or model_pad_multiple(model))
    height, width = x.shape[-2:]
    use_amp = autocast and x.device.type == "cuda"
    amp = torch.autocast(device_type="cuda", dtype=torch.float16) if use_amp else nullcontext()
    with torch.inference_mode(), amp:
        padded = pad_to_multiple(x, multiple)
        tile = -(-tile // multiple) * multiple  # round up to the multiple
        if tile and (tile < padded.shape[-2] or tile < padded.shape[-1]):
            y = _run_tiled(model, padded, tile, overlap, multiple)
        else:
            y = model(padded)
    return y[..., :height, :width].float()
