"""DAR, Distortion-Aware Rectification: (a) prediction consistency, (b) boundary enhancement.

(c), CTCF, lives in `ctcf.py`. The paper gives no equations for (a) and (b); our reading:

(a) The TA predicts each sliding window separately; where two windows overlap (seam included) their
    predictions of the same pixels should agree. `window_consistency_loss` compares the softmax
    distributions on the shared pixels: `kind="kl"` (default) the symmetric KL
    ½(KL(p_i‖p_j) + KL(p_j‖p_i)) (neither window is the reference), "mse" Σ_c (p_i - p_j)², "l1"
    Σ_c |p_i - p_j|; each summed over classes and averaged over the shared pixels (and the batch).
    Both sides get gradients; detach one to make it a target.
(b) SAM's masks have sharp borders where the TA's are blurry. `refine_with_boundaries`: within
    `band` px of a SAM mask border a pixel takes the class of the (top-most, by default the smallest)
    SAM region it lies in — the region's class decided by the majority vote or CTCF; elsewhere, and
    where no region decides, it keeps the TA's label. The refined boundary map that supervises the
    student (`refined_boundary_map`) is by default the SAM borders lying within `tolerance` px of a TA
    class border: SAM's exact positions of the borders that separate classes (SAM also outlines
    parts, e.g. windows of a building, which are no class border). `boundary_loss` is cross-entropy
    with boundary pixels weighted `weight` times the others (`background_weight`, 0 = border-only).
Borders use the 4-neighbourhood; a pixel outside the image is no neighbour (the image frame is no
border); with `wrap` columns 0 and W-1 are neighbours (equirectangular panoramas).
"""
from __future__ import annotations

from typing import Literal, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from samdistill.goodsam.config import DARConfig, Kind  # noqa: F401 (re-exported)
from samdistill.data.segmentation.labels import IGNORE_INDEX
from samdistill.goodsam.ctcf import MasksLike, Order, as_mask_tensor, ctcf
from samdistill.goodsam.windows import Overlap, Overlap2D



# ---- (a) consistency between overlapping windows ---------------------------------------------------

def _take(x: torch.Tensor, cols: Sequence[int], rows: Optional[Sequence[int]]) -> torch.Tensor:
    x = x.index_select(-1, torch.as_tensor(list(cols), dtype=torch.long, device=x.device))
    if rows is not None:
        x = x.index_select(-2, torch.as_tensor(list(rows), dtype=torch.long, device=x.device))
    return x


def window_consistency_loss(logits_i: torch.Tensor, logits_j: torch.Tensor, cols_i: Sequence[int],
                            cols_j: Sequence[int], *, rows_i: Optional[Sequence[int]] = None,
                            rows_j: Optional[Sequence[int]] = None, kind: Kind = "kl") -> torch.Tensor:
    """Disagreement of two windows' logits `(B, C, h, w)` on their shared pixels (see module doc)."""
    if len(cols_i) != len(cols_j) or (rows_i is None) != (rows_j is None) or \
            (rows_i is not None and len(rows_i) != len(rows_j)):
        raise ValueError("the two windows' shared rows/columns must pair up one to one")
    if not len(cols_i) or (rows_i is not None and not len(rows_i)):
        return (logits_i.sum() + logits_j.sum()) * 0.0
    a, b = _take(logits_i, cols_i, rows_i), _take(logits_j, cols_j, rows_j)
    if a.shape != b.shape:
        raise ValueError(f"shared regions differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    la, lb = F.log_softmax(a, 1), F.log_softmax(b, 1)
    pa, pb = la.exp(), lb.exp()
    if kind == "kl":
        per_pixel = 0.5 * ((pa - pb) * (la - lb)).sum(1)  # ½(KL(a‖b) + KL(b‖a))
    elif kind == "mse":
        per_pixel = ((pa - pb) ** 2).sum(1)
    elif kind == "l1":
        per_pixel = (pa - pb).abs().sum(1)
    else:
        raise ValueError(f"kind must be 'kl', 'mse' or 'l1', got {kind!r}")
    return per_pixel.mean()


def pairwise_consistency(window_logits: torch.Tensor, pairs: Sequence[Union[Overlap, Overlap2D]], *,
                         kind: Kind = "kl", reduction: Literal["mean", "sum"] = "mean") -> torch.Tensor:
    """The consistency loss over every overlapping pair; window_logits `(B, K, C, h, w)`.

    reduction "mean" (default): weighted by each pair's number of shared pixels, so every shared pixel
    counts once whatever the stride; "sum": the sum of the pairs' losses.
    """
    if window_logits.ndim != 5:
        raise ValueError(f"window logits must be (B, K, C, h, w) (unflatten extract_windows' batch), "
                         f"got {tuple(window_logits.shape)}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    total, pixels = window_logits.sum() * 0.0, 0
    for p in pairs:
        rows = (p.rows_i, p.rows_j) if isinstance(p, Overlap2D) else (None, None)
        loss = window_consistency_loss(window_logits[:, p.i], window_logits[:, p.j], p.cols_i, p.cols_j,
                                       rows_i=rows[0], rows_j=rows[1], kind=kind)
        n = len(p.cols_i) * (len(p.rows_i) if rows[0] is not None else window_logits.shape[-2])
        total = total + (loss * n if reduction == "mean" else loss)
        pixels += n
    return total / pixels if reduction == "mean" and pixels else total


# ---- (b) boundaries ----------------------------------------------------------------------------

def _neighbours(x: torch.Tensor, wrap: bool) -> list[torch.Tensor]:
    """The 4 neighbours of every pixel of `(..., H, W)`; outside the image a pixel is its own neighbour."""
    up = torch.cat([x[..., :1, :], x[..., :-1, :]], -2)
    down = torch.cat([x[..., 1:, :], x[..., -1:, :]], -2)
    if wrap:
        left, right = torch.roll(x, 1, -1), torch.roll(x, -1, -1)
    else:
        left = torch.cat([x[..., :1], x[..., :-1]], -1)
        right = torch.cat([x[..., 1:], x[..., -1:]], -1)
    return [up, down, left, right]


def mask_boundaries(masks: MasksLike, wrap: bool = False) -> torch.Tensor:
    """`(H, W)` bool: pixels of a mask with a 4-neighbour outside that mask (inner border), any mask."""
    m = as_mask_tensor(masks)
    if not len(m):
        return torch.zeros(m.shape[1:], dtype=torch.bool)
    inner = torch.zeros_like(m)
    for nb in _neighbours(m, wrap):
        inner |= m & ~nb
    return inner.any(0)


def class_boundaries(labels: torch.Tensor, wrap: bool = False, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """`(..., H, W)` bool: non-ignore pixels with a non-ignore 4-neighbour of another class (both sides)."""
    labels = torch.as_tensor(labels)
    valid = labels != ignore_index
    out = torch.zeros_like(valid)
    for nb in _neighbours(labels, wrap):
        out |= (nb != labels) & (nb != ignore_index)
    return out & valid


def dilate(mask: torch.Tensor, band: int, wrap: bool = False) -> torch.Tensor:
    """Pixels within `band` px (Chebyshev: a (2·band+1)² square) of a True pixel of `(..., H, W)` bool."""
    if band < 0:
        raise ValueError(f"band must be >= 0 px, got {band}")
    if band == 0:
        return mask.clone()
    shape = mask.shape
    x = mask.reshape(-1, 1, *shape[-2:]).float()
    if wrap:
        if band > shape[-1]:
            raise ValueError(f"band {band} px exceeds the panorama width {shape[-1]} px")
        x = F.pad(x, (band, band, 0, 0), mode="circular")
        x = F.pad(x, (0, 0, band, band))
    else:
        x = F.pad(x, (band, band, band, band))
    return (F.max_pool2d(x, 2 * band + 1, stride=1) > 0).reshape(shape)


def _region_labels(ta_labels, masks, fusion: str, theta: float, order: Order, num_classes: int,
                   ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel: the class of the top-most mask that decides one, and where such a mask exists."""
    if fusion == "majority":
        f = ctcf(ta_labels, masks, theta=0.0, order=order, undecided="skip", unmasked="zero",
                 num_classes=num_classes, ignore_index=ignore_index)
    elif fusion == "ctcf":
        f = ctcf(ta_labels, masks, theta=theta, order=order, undecided="claim", unmasked="zero",
                 num_classes=num_classes, ignore_index=ignore_index)
    else:
        raise ValueError(f"fusion must be 'majority' or 'ctcf', got {fusion!r}")
    return f.labels, f.weight == 1


def refine_with_boundaries(ta_labels: torch.Tensor, masks: MasksLike, *, band: int = 2,
                           fusion: Literal["majority", "ctcf"] = "majority", theta: float = 0.5,
                           order: Order = "small_on_top", wrap: bool = False, num_classes: int = 19,
                           ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """TA labels `(H, W)` with the pixels within `band` px of a SAM border set to their SAM region's class.

    The region of a pixel is the top-most mask containing it (`order`) whose class is decided by
    `fusion` ("majority": top class by count; "ctcf": top ratio >= theta, an undecided top mask keeps
    the TA labels). Pixels in no deciding mask, and all pixels farther than `band`, keep the TA's label.
    """
    ta = torch.as_tensor(ta_labels).long()
    region, has_region = _region_labels(ta, masks, fusion, theta, order, num_classes, ignore_index)
    near = dilate(mask_boundaries(masks, wrap), band, wrap)
    return torch.where(near & has_region, region, ta)


def refined_boundary_map(masks: MasksLike, ta_labels: torch.Tensor, *,
                         mode: Literal["sam_and_ta", "sam", "ta", "union"] = "sam_and_ta",
                         tolerance: int = 2, wrap: bool = False, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """`(H, W)` bool boundary map for the boundary loss: "sam_and_ta" SAM borders within `tolerance` px
    of a TA class border (default); "sam", "ta" alone; "union" either."""
    sam = mask_boundaries(masks, wrap)
    ta = class_boundaries(torch.as_tensor(ta_labels), wrap, ignore_index)
    if mode == "sam":
        return sam
    if mode == "ta":
        return ta
    if mode == "union":
        return sam | ta
    if mode == "sam_and_ta":
        return sam & dilate(ta, tolerance, wrap)
    raise ValueError(f"mode must be 'sam_and_ta', 'sam', 'ta' or 'union', got {mode!r}")


def boundary_loss(logits: torch.Tensor, target: torch.Tensor, boundary: torch.Tensor, weight: float = 5.0,
                  background_weight: float = 1.0, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Σ w·CE / Σ w over non-ignore pixels, w = `weight` on boundary pixels, `background_weight` elsewhere.

    logits `(B, C, H, W)`, target `(B, H, W)`, boundary `(B, H, W)` or `(H, W)` bool. 0 (with a graph)
    when no pixel has a weight.
    """
    if logits.shape[-2:] != target.shape[-2:] or boundary.shape[-2:] != target.shape[-2:]:
        raise ValueError(f"logits {tuple(logits.shape)}, target {tuple(target.shape)} and boundary "
                         f"{tuple(boundary.shape)} must share H, W")
    ce = F.cross_entropy(logits, target.long(), ignore_index=ignore_index, reduction="none")
    w = torch.where(boundary.to(logits.device).bool(), weight, background_weight).to(ce.dtype)
    w = w * (target != ignore_index).to(ce.dtype)
    den = w.sum()
    if den <= 0:
        return logits.sum() * 0.0
    return (w * ce).sum() / den
