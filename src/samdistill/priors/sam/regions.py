"""segment-anything's small-region cleanup (`min_mask_region_area`), with scipy on CPU.

Per mask: fill holes smaller than the area, then remove islands smaller than it (keeping the
largest island if all are small); 8-connectivity. Then box-NMS where masks left untouched score 1
and changed ones 0, so a cleaned mask never displaces an untouched near-duplicate.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from samdistill.priors.sam.nms import box_nms, masks_to_boxes

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def remove_small_regions(mask: np.ndarray, area_thresh: int, mode: str) -> tuple[np.ndarray, bool]:
    """(cleaned mask, changed). mode 'holes' fills small background regions, 'islands' removes
    small foreground regions."""
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    holes = mode == "holes"
    working = ~mask if holes else mask
    labels, n = ndimage.label(working, structure=EIGHT_CONNECTED)
    if n == 0:
        return mask, False
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    small = np.flatnonzero(sizes < area_thresh) + 1
    if len(small) == 0:
        return mask, False
    if holes:
        return mask | np.isin(labels, small), True
    big = np.flatnonzero(sizes >= area_thresh) + 1
    if len(big) == 0:
        big = np.array([int(np.argmax(sizes)) + 1])
    return np.isin(labels, big), True


def clean_small_regions(masks: np.ndarray, iou: np.ndarray, stability: np.ndarray, min_area: int,
                        nms_thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean every mask, then NMS preferring unchanged masks; returns the kept subset."""
    cleaned = np.empty_like(masks)
    unchanged = np.empty(len(masks), dtype=np.float32)
    for i, mask in enumerate(masks):
        mask, changed_holes = remove_small_regions(mask, min_area, "holes")
        mask, changed_islands = remove_small_regions(mask, min_area, "islands")
        cleaned[i] = mask
        unchanged[i] = float(not (changed_holes or changed_islands))
    boxes = masks_to_boxes(torch.from_numpy(cleaned)).float()
    keep = box_nms(boxes, torch.from_numpy(unchanged), nms_thresh).numpy()
    return cleaned[keep], iou[keep], stability[keep]
