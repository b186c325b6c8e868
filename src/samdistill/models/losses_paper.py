"""Training losses of the baseline papers, as their public training code computes them.

* RCDNet (Wang et al., CVPR 2020), reference `trainer.py`: MSE on every estimate against the
  clean background B and the rain layer R = LQ - GT:
      0.1 * |B_0 - B|^2 + 0.1 * sum_{s=1..S} |B_s - B|^2 + 0.1 * sum_{s=1..S} |R_s - R|^2
      + 1.0 * |B_final - B|^2 + 0.9 * |R_S - R|^2
  i.e. every intermediate estimate weighs 0.1 and the two final ones (the refined background,
  and the last rain layer: 0.1 + 0.9) weigh 1. Each term is a mean over pixels (nn.MSELoss).
  The reference works on 0-255 pixels; on [0, 1] images the loss is that / 255^2 (a constant).
* EfficientDerain (Guo et al., AAAI 2021), reference `trainer.py`: L1 - 0.2 * SSIM, where SSIM
  is the pytorch_ssim one: 11x11 Gaussian window (sigma 1.5) per channel, zero "same" padding,
  C1 = 0.01^2, C2 = 0.03^2, mean over the whole map (`engine.ssim_map.gaussian_ssim_map` with
  padding "same"; the engine's own l1_ssim uses the "valid" region).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from samdistill.engine.ssim_map import gaussian_ssim_map as engine_ssim_map
from samdistill.models.rcdnet import RCDNetStages


def _weighted_mse(estimates: Sequence[torch.Tensor], weights: Sequence[float], target: torch.Tensor) -> torch.Tensor:
    return sum(w * F.mse_loss(e, target) for e, w in zip(estimates, weights, strict=True))


def rcdnet_multistage_loss(model_outputs: RCDNetStages, lq: torch.Tensor, gt: torch.Tensor,
                           intermediate_weight: float = 0.1, final_weight: float = 1.0) -> torch.Tensor:
    """RCDNet's loss over all stages (weights as in the reference, see module doc).

    `model_outputs` is `RCDNet.forward_stages(lq)`; the rain target is `lq - gt`.
    """
    outs = model_outputs
    if not outs.backgrounds or len(outs.backgrounds) != len(outs.rains):
        raise ValueError(f"RCDNet outputs need as many backgrounds as rain layers, got "
                         f"{len(outs.backgrounds)} and {len(outs.rains)}")
    stages = len(outs.backgrounds)
    b_estimates = [outs.initial, *outs.backgrounds, outs.final]
    b_weights = [intermediate_weight] * (stages + 1) + [final_weight]
    r_weights = [intermediate_weight] * (stages - 1) + [final_weight]
    return _weighted_mse(b_estimates, b_weights, gt) + _weighted_mse(outs.rains, r_weights, lq - gt)


def gaussian_ssim_map(x: torch.Tensor, y: torch.Tensor, window_size: int = 11, sigma: float = 1.5,
                      data_range: float = 1.0) -> torch.Tensor:
    """Per-pixel SSIM of two (B, C, H, W) batches, same shape (pytorch_ssim convention, module doc)."""
    return engine_ssim_map(x, y, window_size, sigma, data_range, padding="same")


def gaussian_ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of two (B, C, H, W) batches in [0, 1], differentiable."""
    return gaussian_ssim_map(x, y, window_size, sigma).mean()


def efficientderain_loss(pred: torch.Tensor, gt: torch.Tensor, ssim_weight: float = 0.2) -> torch.Tensor:
    """EfficientDerain's loss: L1(pred, gt) - ssim_weight * SSIM(gt, pred)."""
    return F.l1_loss(pred, gt) - ssim_weight * gaussian_ssim(gt, pred)
