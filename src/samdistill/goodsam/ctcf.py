"""CTCF, Cross-Task Complementary Fusion (DAR (c)), and Semantic-Segment-Anything's majority vote
(`mask_majority_vote`, `goodsam.fusion: majority`; "SSA" below is that project, not SPF's semantic
selection attention in sam4ir/spf.py).

What the paper states: for every SAM mask, the coverage ratio of each TA class inside it; if the
top ratio >= θ the whole mask takes that class with weight 1, else weight 0. The outputs are the
ensemble labels E and the high-confidence labels E_H = E ⊗ weight. The paper contrasts this with
SSA's plain "most frequent label in the region".

Our choices (each a named parameter):
- `theta` = 0.5: a decided mask's class covers at least half of its counted pixels. A ratio exactly
  equal to θ decides (>=, as stated). Ties between classes go to the lowest class id (argmax).
- Pixels whose TA label is `ignore_index` (255) are not counted (`coverage="hard"`, ratios over the
  counted pixels); a mask with no counted pixel is undecided. `coverage="soft"` (TA probabilities
  given) uses the mean TA probability of each class inside the mask instead of argmax counts.
- Overlaps (`order`): "small_on_top" (default) paints masks largest first so smaller masks (parts)
  win, as SAM overlays and SSA's code (annotations sorted by area, descending) do;
  "large_on_top" the reverse. Equal areas keep the masks' order (later ones on top).
- Undecided masks (`undecided`): "claim" (default) — an undecided mask on top still owns its
  pixels: E keeps the TA label there with weight 0 (a confused part is not overwritten by a
  decided larger mask around it); "skip" — it paints nothing, a decided mask beneath shows through.
- Pixels in no mask keep the TA label in E; their weight (`unmasked`): "zero" (default: only SAM-
  confirmed pixels are high-confidence), "one", or "confidence" (1 where the TA's max probability
  >= `confidence_threshold`; needs TA probabilities).
- Masks that carry a class (SAM 3's concept prompts; `own_class` / `own_score`, -1 = none): with
  `mask_class_threshold` set, a mask whose score reaches it takes its own class, decided (weight 1),
  whatever the TA says; the others are voted by the TA as above. Not in the paper (its SAM has no classes).
E and E_H are int64 maps (ignore 255); the weight map is float32 in {0, 1}.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence, Union

import numpy as np
import torch

from samdistill.goodsam.config import CTCFConfig, Order  # noqa: F401 (re-exported)
from samdistill.data.segmentation.labels import IGNORE_INDEX
from samdistill.priors.maskset import MaskSet

_EPS = 1e-6  # a ratio equal to theta decides despite float rounding (3/5 vs 0.6)
MasksLike = Union[MaskSet, np.ndarray, torch.Tensor]


@dataclass
class Fusion:
    labels: torch.Tensor  # E (H, W) int64
    weight: torch.Tensor  # W (H, W) float32 in {0, 1}
    high_conf: torch.Tensor  # E_H (H, W) int64: E where weight == 1, else ignore
    mask_class: torch.Tensor  # (N,) int64 top class per mask (ignore if no counted pixel)
    mask_ratio: torch.Tensor  # (N,) float32 top coverage ratio (0 if no counted pixel)
    decided: torch.Tensor  # (N,) bool: ratio >= theta


def as_mask_tensor(masks: MasksLike, device=None) -> torch.Tensor:
    """MaskSet / array / tensor `(N, H, W)` -> bool tensor."""
    m = masks.masks if isinstance(masks, MaskSet) else masks
    m = torch.as_tensor(np.asarray(m) if not isinstance(m, torch.Tensor) else m, device=device)
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {tuple(m.shape)}")
    return m.bool()


def _ta_inputs(ta, num_classes: int, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(H, W) integer labels, or (C, H, W) probabilities -> (labels, probabilities or None)."""
    t = torch.as_tensor(np.asarray(ta) if not isinstance(ta, torch.Tensor) else ta)
    if t.ndim == 3 and t.is_floating_point():
        if t.shape[0] != num_classes:
            raise ValueError(f"TA probabilities have {t.shape[0]} classes, expected {num_classes}")
        return t.argmax(0), t
    if t.ndim != 2 or t.is_floating_point():
        raise ValueError(f"TA prediction must be (H, W) integer labels or (C, H, W) probabilities, "
                         f"got {tuple(t.shape)} {t.dtype}")
    t = t.long()
    bad = (t != ignore_index) & ((t < 0) | (t >= num_classes))
    if bad.any():
        raise ValueError(f"TA labels hold ids outside 0..{num_classes - 1} and {ignore_index}: "
                         f"{sorted(set(t[bad].unique().tolist()))[:5]}")
    return t, None


def paint_order(masks: torch.Tensor, order: Order) -> list[int]:
    """Indices of masks in painting order (the last painted wins)."""
    if order not in ("small_on_top", "large_on_top"):
        raise ValueError(f"order must be 'small_on_top' or 'large_on_top', got {order!r}")
    if not len(masks):
        return []
    if masks.device.type == "cpu":  # numpy's count_nonzero is ~20x faster than torch's bool sums
        area = np.count_nonzero(masks.numpy().reshape(len(masks), -1), axis=1).tolist()
    else:
        area = masks.flatten(1).sum(1).tolist()
    idx = list(range(len(area)))
    # stable sort: equal areas keep their order, so the later mask is painted later (on top)
    return sorted(idx, key=lambda n: -area[n]) if order == "small_on_top" else sorted(idx, key=lambda n: area[n])


def mask_coverage(labels: torch.Tensor, masks: torch.Tensor, num_classes: int,
                  ignore_index: int = IGNORE_INDEX, probs: torch.Tensor | None = None) -> torch.Tensor:
    """`(N, C)` coverage ratio of each class inside each mask (rows sum to 1, or 0 with no counted pixel).

    Hard: counts of the TA labels over the mask's non-ignore pixels. Soft (`probs` given): the mean
    TA probability of each class over the mask's pixels.
    """
    if not len(masks):
        return torch.zeros(0, num_classes, device=labels.device)
    flat = masks.flatten(1).to(torch.float32)  # (N, P); one matrix product instead of a loop over masks
    if probs is not None:
        area = flat.sum(1, keepdim=True)
        sums = flat @ probs.flatten(1).to(torch.float32).T  # (N, C) summed probabilities inside each mask
        return torch.where(area > 0, sums / area.clamp(min=1), torch.zeros_like(sums))
    binned = torch.where(labels == ignore_index, num_classes, labels).flatten()  # ignore -> a dropped column
    onehot = torch.zeros(binned.numel(), num_classes + 1, device=labels.device)
    onehot[torch.arange(binned.numel(), device=labels.device), binned] = 1.0
    counts = (flat @ onehot)[:, :num_classes]
    total = counts.sum(1, keepdim=True)
    return torch.where(total > 0, counts / total.clamp(min=1), torch.zeros_like(counts))


def ctcf(ta, masks: MasksLike, *, theta: float = 0.5, num_classes: int = 19, order: Order = "small_on_top",
         undecided: Literal["claim", "skip"] = "claim", unmasked: Literal["zero", "one", "confidence"] = "zero",
         confidence_threshold: float = 0.9, coverage: Literal["hard", "soft"] = "hard",
         mask_class_threshold: Optional[float] = None, own_class=None, own_score=None,
         ignore_index: int = IGNORE_INDEX) -> Fusion:
    """Fuse a TA prediction `(H, W)` labels or `(C, H, W)` probabilities with SAM masks `(N, H, W)`;
    `own_class` / `own_score` `(N,)`: the masks' own classes (-1 none) and scores, used with
    `mask_class_threshold`."""
    labels, probs = _ta_inputs(ta, num_classes, ignore_index)
    m = as_mask_tensor(masks, device=labels.device)
    if m.shape[1:] != labels.shape:
        raise ValueError(f"masks are {tuple(m.shape[1:])} but the TA prediction is {tuple(labels.shape)}")
    if coverage == "soft" and probs is None:
        raise ValueError("coverage='soft' needs TA probabilities (C, H, W), got labels")
    if undecided not in ("claim", "skip") or unmasked not in ("zero", "one", "confidence"):
        raise ValueError(f"unknown undecided={undecided!r} or unmasked={unmasked!r}")

    ratios = mask_coverage(labels, m, num_classes, ignore_index, probs if coverage == "soft" else None)
    top_ratio, top_class = ratios.max(1) if len(m) else (ratios.new_zeros(0), labels.new_zeros(0))
    has_pixels = ratios.sum(1) > 0
    decided = has_pixels & (top_ratio >= theta - _EPS)
    mask_class = torch.where(has_pixels, top_class, torch.full_like(top_class, ignore_index))
    if mask_class_threshold is not None and own_class is not None and len(m):
        own = torch.as_tensor(np.asarray(own_class), device=labels.device).long().reshape(-1)
        score = torch.as_tensor(np.asarray(own_score, np.float32) if own_score is not None
                                else np.ones(len(own), np.float32), device=labels.device).reshape(-1)
        if own.numel() != len(m) or score.numel() != len(m):
            raise ValueError(f"{own.numel()} mask classes / {score.numel()} scores for {len(m)} masks")
        if ((own >= num_classes) & (own != ignore_index)).any():
            raise ValueError(f"mask classes outside 0..{num_classes - 1}: {sorted(set(own[own >= num_classes].tolist()))[:5]}")
        trusted = (own >= 0) & (own < num_classes) & (score >= mask_class_threshold)  # NaN scores never pass
        mask_class = torch.where(trusted, own, mask_class)
        decided = decided | trusted

    if unmasked == "zero":
        weight = torch.zeros(labels.shape, device=labels.device)
    elif unmasked == "one":
        weight = torch.ones(labels.shape, device=labels.device)
    else:
        if probs is None:
            raise ValueError("unmasked='confidence' needs TA probabilities (C, H, W), got labels")
        weight = (probs.max(0).values >= confidence_threshold).float()
    # top[p]: the last-painted mask containing p (-1: none); one masked fill per mask
    top = torch.full(labels.shape, -1, dtype=torch.long, device=labels.device)
    dec = decided.tolist()
    for n in paint_order(m, order):
        if dec[n] or undecided == "claim":
            top.masked_fill_(m[n], n)
    out = labels.clone()
    if len(m):
        painted, idx = top >= 0, top.clamp(min=0)
        top_decided = painted & decided[idx]
        out = torch.where(top_decided, mask_class[idx], labels)
        weight = torch.where(painted, top_decided.to(weight.dtype), weight)
    weight = weight.to(torch.float32)
    high = torch.where((weight == 1) & (out != ignore_index), out, torch.full_like(out, ignore_index))
    return Fusion(out, weight, high, mask_class, top_ratio.to(torch.float32), decided)


def mask_majority_vote(ta, masks: MasksLike, *, num_classes: int = 19, order: Order = "small_on_top",
                      ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Semantic-Segment-Anything's rule: each mask takes the top-1 class by pixel count of the TA argmax
    inside it (no threshold; ignore pixels not counted; a mask with none changes nothing); pixels in
    no mask keep the TA's class. Masks painted largest first as SSA does (`order`)."""
    return ctcf(ta, masks, theta=0.0, num_classes=num_classes, order=order, undecided="skip",
                unmasked="one", ignore_index=ignore_index).labels


def ctcf_batch(ta: torch.Tensor, masks: Sequence[MasksLike], **kwargs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`ctcf` over a batch: ta `(B, H, W)` or `(B, C, H, W)`, one mask stack per image ->
    E `(B, H, W)`, weight `(B, H, W)`, E_H `(B, H, W)` (on ta's device)."""
    if len(masks) != ta.shape[0]:
        raise ValueError(f"{len(masks)} mask stacks for a batch of {ta.shape[0]} predictions")
    parts = [ctcf(t.detach(), mk, **kwargs) for t, mk in zip(ta, masks)]
    stack = lambda name: torch.stack([getattr(p, name) for p in parts]).to(ta.device)  # noqa: E731
    return stack("labels"), stack("weight"), stack("high_conf")


def mask_majority_vote_batch(ta: torch.Tensor, masks: Sequence[MasksLike], **kwargs) -> torch.Tensor:
    """`mask_majority_vote` over a batch -> `(B, H, W)` int64 on ta's device."""
    if len(masks) != ta.shape[0]:
        raise ValueError(f"{len(masks)} mask stacks for a batch of {ta.shape[0]} predictions")
    return torch.stack([mask_majority_vote(t.detach(), mk, **kwargs) for t, mk in zip(ta, masks)]).to(ta.device)
