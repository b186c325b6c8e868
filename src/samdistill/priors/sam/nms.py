"""Box and mask utilities of segment-anything's automatic mask generator, on plain torch.

Semantics follow segment-anything (`amg.py` utilities and torchvision's `batched_nms` as it is
used there): XYXY boxes, box area without the +1 pixel convention, greedy NMS suppressing
boxes with IoU strictly above the threshold. Ties in score keep their input order (stable
sort), which makes the generator deterministic.
"""
from __future__ import annotations

import math
from itertools import product

import numpy as np
import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of (N, 4) XYXY boxes."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou_one_to_many(box: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """IoU of one XYXY box (4,) with (N, 4) boxes; 0 where the union is empty."""
    lt = torch.maximum(box[:2], boxes[:, :2])
    rb = torch.minimum(box[2:], boxes[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = box_area(box[None])[0] + box_area(boxes) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def box_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_thresh: float) -> torch.Tensor:
    """Greedy NMS: indices of kept boxes, highest score first.

    A box is dropped when its IoU with an already kept, higher-scored box is > `iou_thresh`.
    Runs on CPU in float64 (n kept boxes x n comparisons), which is cheap next to SAM itself.
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores.detach().cpu().double(), descending=True, stable=True).indices
    sorted_boxes = boxes.detach().cpu().double()[order]
    alive = torch.ones(len(order), dtype=torch.bool)
    kept = []
    for i in range(len(order)):
        if not alive[i]:
            continue
        kept.append(i)
        rest = slice(i + 1, None)
        alive[rest] &= box_iou_one_to_many(sorted_boxes[i], sorted_boxes[rest]) <= iou_thresh
    return order[torch.tensor(kept, dtype=torch.long)].to(boxes.device)


def _first_last(hit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last True index along the last dim (n and -1 where there is none)."""
    n = hit.shape[-1]
    idx = torch.arange(n, device=hit.device)
    return torch.where(hit, idx, n).amin(dim=-1), torch.where(hit, idx, -1).amax(dim=-1)


def _boxes_from_hits(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    top, bottom = _first_last(rows)
    left, right = _first_last(cols)
    out = torch.stack([left, top, right, bottom], dim=-1)
    empty = (right < left) | (bottom < top)
    return out * (~empty).unsqueeze(-1)


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(..., H, W) bool -> (..., 4) XYXY with inclusive max coordinates; empty masks -> zeros."""
    return _boxes_from_hits(masks.any(dim=-1), masks.any(dim=-2))


def boxes_from_maxima(row_max: torch.Tensor, col_max: torch.Tensor,
                      threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes of `logits > threshold` and which masks are non-empty, from the logits' row and
    column maxima (a row/column holds a mask pixel iff its maximum is above the threshold)."""
    rows = row_max > threshold
    return _boxes_from_hits(rows, col_max > threshold), rows.any(dim=-1)


def logits_to_boxes(logits: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(boxes, non-empty) of `logits > threshold` without materializing the masks."""
    return boxes_from_maxima(logits.amax(dim=-1), logits.amax(dim=-2), threshold)


def count_above(logits: torch.Tensor, threshold: float) -> torch.Tensor:
    """Number of elements > threshold in each (..., H, W) map (int64)."""
    above = torch.gt(logits, threshold).view(torch.uint8)  # uint8 sums are much faster than bool
    return above.sum(dim=-1, dtype=torch.int32).sum(dim=-1, dtype=torch.int64)


def stability_score(logits: torch.Tensor, mask_threshold: float, offset: float) -> torch.Tensor:
    """IoU of the masks at `threshold + offset` and `threshold - offset`, per (..., H, W) map.

    The higher-threshold mask is a subset of the lower one, so the IoU is a ratio of pixel
    counts. 0/0 (nothing above the low threshold) gives NaN, as in segment-anything, which
    fails every `>=` filter.
    """
    inter = count_above(logits, mask_threshold + offset)
    union = count_above(logits, mask_threshold - offset)
    return inter.float() / union.float()


def stability_score_in_boxes(logits: torch.Tensor, row_max: torch.Tensor, col_max: torch.Tensor,
                             mask_threshold: float, offset: float) -> torch.Tensor:
    """`stability_score`, counting each threshold's pixels only inside that mask's bounding box
    (read off the row/column maxima). Same result; on CPU far fewer pixels for small masks."""
    counts = torch.zeros(2, len(logits), dtype=torch.int64)
    for j, cut in enumerate((mask_threshold + offset, mask_threshold - offset)):
        rows_hit = (row_max > cut).cpu().numpy()
        cols_hit = (col_max > cut).cpu().numpy()
        for i in range(len(logits)):
            r, c = np.flatnonzero(rows_hit[i]), np.flatnonzero(cols_hit[i])
            if len(r):
                window = logits[i, r[0]: r[-1] + 1, c[0]: c[-1] + 1]
                counts[j, i] = count_above(window, cut)
    return (counts[0].float() / counts[1].float()).to(logits.device)


def uncrop_boxes(boxes: torch.Tensor, crop_box: list[int]) -> torch.Tensor:
    x0, y0 = crop_box[:2]
    return boxes + torch.tensor([x0, y0, x0, y0], dtype=boxes.dtype, device=boxes.device)


def is_box_near_crop_edge(boxes: torch.Tensor, crop_box: list[int], orig_box: list[int],
                          atol: float = 20.0) -> torch.Tensor:
    """Boxes (crop coordinates) within `atol` px of a crop edge that is not an image edge."""
    crop_t = torch.tensor(crop_box, dtype=torch.float32, device=boxes.device)
    orig_t = torch.tensor(orig_box, dtype=torch.float32, device=boxes.device)
    boxes = uncrop_boxes(boxes, crop_box).float()
    near_crop = torch.isclose(boxes, crop_t[None], atol=atol, rtol=0)
    near_image = torch.isclose(boxes, orig_t[None], atol=atol, rtol=0)
    return (near_crop & ~near_image).any(dim=1)


def build_point_grid(n_per_side: int) -> np.ndarray:
    """(n*n, 2) XY points in [0, 1], centres of an n x n grid of cells, x varying fastest."""
    offset = 1.0 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def build_all_layer_point_grids(n_per_side: int, n_layers: int, scale_per_layer: int) -> list[np.ndarray]:
    """One grid per crop layer; layer i has n_per_side / scale_per_layer**i points per side."""
    return [build_point_grid(max(1, int(n_per_side / (scale_per_layer ** i)))) for i in range(n_layers + 1)]


def generate_crop_boxes(im_size: tuple[int, int], n_layers: int,
                        overlap_ratio: float) -> tuple[list[list[int]], list[int]]:
    """XYXY crop boxes: the whole image, then 2^i x 2^i overlapping crops for layer i = 1..n."""
    im_h, im_w = im_size
    short_side = min(im_h, im_w)
    boxes, layers = [[0, 0, im_w, im_h]], [0]

    def crop_len(orig_len: int, n_crops: int, overlap: int) -> int:
        return int(math.ceil((overlap * (n_crops - 1) + orig_len) / n_crops))

    for i_layer in range(n_layers):
        n_side = 2 ** (i_layer + 1)
        overlap = int(overlap_ratio * short_side * (2 / n_side))
        crop_w = crop_len(im_w, n_side, overlap)
        crop_h = crop_len(im_h, n_side, overlap)
        xs = [int((crop_w - overlap) * i) for i in range(n_side)]
        ys = [int((crop_h - overlap) * i) for i in range(n_side)]
        for x0, y0 in product(xs, ys):
            boxes.append([x0, y0, min(x0 + crop_w, im_w), min(y0 + crop_h, im_h)])
            layers.append(i_layer + 1)
    return boxes, layers
