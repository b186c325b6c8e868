"""MKA, Multi-level Knowledge Adaptation: the student's (and the TA's) losses as plain functions.

What the paper states, without equations: patch level — cross-entropy of the student's window
predictions against the ensemble labels E and the high-confidence labels E_H; whole-image level —
cross-entropy of the student's full-panorama prediction against the stitched TA prediction; the TA
is also trained with cross-entropy against E and E_H; the abstract says "multi-level".

Our forms (each knob a named parameter):
- `patch_loss` = λ_E·CE(S, E) + λ_H·CE(S, E_H), ignore 255, λ_E = λ_H = 1. Each CE is the mean over
  its own labelled pixels (`high_conf_norm="own"`), so E_H's pixels count twice, as E and as E_H;
  "all" divides the E_H term by E's labelled pixels instead (a CE weighted by the CTCF weight map),
  so few decided masks give a small term. The TA's loss is the same function (`ta_loss`).
- `image_loss`: "ce_hard" (default, as stated) — CE against the argmax of the stitched TA logits;
  `image_label_loss` — CE against stitched E or E_H instead (`mka.image_target`, our option);
  "kl_soft" — Hinton's T²·KL(softmax(TA/T) ‖ softmax(S/T)), summed over classes, mean over pixels.
  The TA side is detached in both.
- `feature_distillation` (optional, our reading of "multi-level"): MSE between a 1x1 projection of
  each student encoder stage and the TA's stage (resized bilinearly to the TA's size when they
  differ), averaged over stages; the projections are created by the caller (`make_projections`)
  and trained with the student.
- class weights (our option, `mka.class_weight_power` α): each pixel's CE in the patch and image losses
  weighted by its pseudo-label's class, w_c ∝ f_c^-α from the classes' running frequency in E (CBST-like
  balancing of self-training labels; α = 0: off, the paper's plain CE; 0.5: inverse square root).
A loss with no labelled pixel is 0 (with a graph), never NaN.
"""
from __future__ import annotations

from typing import Literal, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.goodsam.config import MKAConfig  # noqa: F401 (re-exported)
from samdistill.data.segmentation.labels import IGNORE_INDEX


def _ce_sum_count(logits: torch.Tensor, target: torch.Tensor, ignore_index: int,
                  class_weight: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, int]:
    if logits.shape[0] != target.shape[0] or logits.shape[-2:] != target.shape[-2:]:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(target.shape)} do not match")
    weight = class_weight.to(logits.device, logits.dtype) if class_weight is not None else None
    ce = F.cross_entropy(logits, target.long(), weight=weight, ignore_index=ignore_index, reduction="sum")
    return ce, int((target != ignore_index).sum())


def class_weights(counts: torch.Tensor, power: float) -> torch.Tensor:
    """Per-class CE weights `f_c^-power` from label counts `(C,)`, scaled so the average weight of a labeled
    pixel is 1 (the loss keeps its size); classes never seen get 0 (no pixel carries them)."""
    freq = counts.double() / counts.sum().clamp_min(1)
    seen = freq > 0
    w = torch.where(seen, freq.clamp_min(1e-12) ** -power, torch.zeros_like(freq))
    return (w / (freq * w).sum().clamp_min(1e-12)).float()


def patch_loss(student_logits: torch.Tensor, ensemble: torch.Tensor, high_conf: torch.Tensor, *,
               weight_e: float = 1.0, weight_h: float = 1.0, high_conf_norm: Literal["own", "all"] = "own",
               ignore_index: int = IGNORE_INDEX, class_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """λ_E·CE(logits, E) + λ_H·CE(logits, E_H); logits `(N, C, h, w)`, E and E_H `(N, h, w)`;
    `class_weight` `(C,)` (optional) weights each pixel's CE by its label's class."""
    if high_conf_norm not in ("own", "all"):
        raise ValueError(f"high_conf_norm must be 'own' or 'all', got {high_conf_norm!r}")
    ce_e, n_e = _ce_sum_count(student_logits, ensemble, ignore_index, class_weight)
    ce_h, n_h = _ce_sum_count(student_logits, high_conf, ignore_index, class_weight)
    den_h = n_h if high_conf_norm == "own" else n_e
    loss = student_logits.sum() * 0.0
    if n_e:
        loss = loss + weight_e * ce_e / n_e
    if n_h and den_h:
        loss = loss + weight_h * ce_h / den_h
    return loss


# The TA is adapted with the same cross-entropy against E and E_H.
ta_loss = patch_loss


def image_loss(student_logits: torch.Tensor, ta_logits: torch.Tensor, *,
               kind: Literal["ce_hard", "kl_soft"] = "ce_hard", temperature: float = 1.0,
               class_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Whole-panorama loss between the student's logits and the stitched TA logits, both `(B, C, H, W)`."""
    if student_logits.shape != ta_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and TA logits "
                         f"{tuple(ta_logits.shape)} must have the same shape")
    ta_logits = ta_logits.detach()
    if kind == "ce_hard":
        if class_weight is None:
            return F.cross_entropy(student_logits, ta_logits.argmax(1))
        ce, n = _ce_sum_count(student_logits, ta_logits.argmax(1), IGNORE_INDEX, class_weight)
        return ce / n
    if kind == "kl_soft":
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        log_t = F.log_softmax(ta_logits / temperature, 1)
        log_s = F.log_softmax(student_logits / temperature, 1)
        return temperature ** 2 * (log_t.exp() * (log_t - log_s)).sum(1).mean()
    raise ValueError(f"kind must be 'ce_hard' or 'kl_soft', got {kind!r}")


def image_label_loss(student_logits: torch.Tensor, labels: torch.Tensor,
                     ignore_index: int = IGNORE_INDEX, class_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """CE of the student's panorama `(B, C, H, W)` against stitched pseudo-labels `(B, H, W)` (E or E_H);
    0 (with a graph) when no pixel is labeled."""
    ce, n = _ce_sum_count(student_logits, labels, ignore_index, class_weight)
    return ce / n if n else student_logits.sum() * 0.0


def make_projections(student_channels: Sequence[int], ta_channels: Sequence[int]) -> nn.ModuleList:
    """1x1 convolutions from each student stage's channels to the TA stage's."""
    if len(student_channels) != len(ta_channels):
        raise ValueError(f"{len(student_channels)} student stages vs {len(ta_channels)} TA stages")
    return nn.ModuleList(nn.Conv2d(s, t, 1) for s, t in zip(student_channels, ta_channels))


def feature_distillation(student_feats: Sequence[torch.Tensor], ta_feats: Sequence[torch.Tensor],
                         proj: Sequence[nn.Module]) -> torch.Tensor:
    """Mean over stages of MSE(resize(proj_l(S_l)), TA_l), TA features detached."""
    if not (len(student_feats) == len(ta_feats) == len(proj)) or not len(proj):
        raise ValueError(f"{len(student_feats)} student stages, {len(ta_feats)} TA stages and "
                         f"{len(proj)} projections must be equal and > 0")
    total = 0.0
    for s, t, p in zip(student_feats, ta_feats, proj):
        s = p(s)
        if s.shape[-2:] != t.shape[-2:]:
            s = F.interpolate(s, size=t.shape[-2:], mode="bilinear", align_corners=False)
        total = total + F.mse_loss(s, t.detach())
    return total / len(proj)
