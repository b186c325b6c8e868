"""Order-free encodings built on *regions*: the sets of pixels with the same membership in every
mask (for a partition, the masks themselves; for nested masks, the finest pieces). Regions do not
depend on the order of the mask list, so neither do these maps. Pixels no mask covers are 0.

- `region_mean(stack, image)`: `(B, 3, H, W)`, each region painted with `image`'s mean color
  over it (a SAM-guided "superpixel" version of I1).
- `region_label(stack)`: `(B, 1, H, W)`, regions ranked by area within their image (largest 1,
  ties by the first pixel in raster order), value `rank / number of regions` in (0, 1].
"""
from __future__ import annotations

import torch


def _regions(stack: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(region id per pixel `(B*H*W,)`, covered `(B*H*W,)` bool, number of regions)."""
    b, n, h, w = stack.shape
    bits = (stack > 0.5).permute(0, 2, 3, 1).reshape(b * h * w, n)
    img = torch.arange(b, device=stack.device).repeat_interleave(h * w)
    rows = torch.cat([img.view(-1, 1), bits.long()], dim=1)  # regions never span two images
    _, inverse = torch.unique(rows, dim=0, return_inverse=True)
    return inverse, bits.any(dim=1), int(inverse.max()) + 1 if inverse.numel() else 0


def region_mean(stack: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    b, _, h, w = stack.shape
    if image.shape[0] != b or image.shape[-2:] != (h, w):
        raise ValueError(f"region_mean needs an image of the stack's size {b}x{h}x{w}, got {tuple(image.shape)}")
    ids, covered, count = _regions(stack)
    pixels = image.permute(0, 2, 3, 1).reshape(b * h * w, -1)
    sums = pixels.new_zeros((count, pixels.shape[1])).index_add_(0, ids, pixels)
    sizes = torch.bincount(ids, minlength=count).clamp_min(1).to(pixels.dtype)
    out = (sums / sizes[:, None])[ids] * covered[:, None].to(pixels.dtype)
    return out.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()


def region_label(stack: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    b, _, h, w = stack.shape
    ids, covered, count = _regions(stack)
    hw = h * w
    sizes = torch.bincount(ids, minlength=count)
    pos = torch.arange(b * hw, device=stack.device)
    first = torch.full((count,), b * hw, dtype=torch.int64, device=stack.device).scatter_reduce(
        0, ids, pos, reduce="amin")
    owner = first // hw
    is_covered = torch.zeros(count, dtype=torch.bool, device=stack.device).index_fill_(0, ids[covered], True)
    # sort key: image, covered first, larger first, earlier first pixel first
    key = ((owner * 2 + (~is_covered).long()) * (hw + 1) + (hw - sizes)) * (hw + 1) + (first % hw)
    order = torch.argsort(key)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(count, device=stack.device)
    # rank within the image: subtract the rank of the image's first region
    start = torch.full((b,), count, dtype=torch.int64, device=stack.device).scatter_reduce(0, owner, rank, reduce="amin")
    local = rank - start[owner] + 1
    per_image = torch.zeros(b, dtype=torch.int64, device=stack.device).index_add_(0, owner, is_covered.long())
    value = (local.to(dtype) / per_image[owner].clamp_min(1).to(dtype)) * is_covered.to(dtype)
    return value[ids].reshape(b, 1, h, w)
