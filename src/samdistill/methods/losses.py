"""Reconstruction losses of the restoration methods, `loss(pred, gt) -> scalar`, for (B, C, H, W)
images in [0, 1] (`train.loss`).

- l1, mse: mean absolute / squared error.
- charbonnier: mean sqrt((pred - gt)^2 + eps^2) (the MPRNet form; eps = 1e-3 by default).
- psnr: NAFNet's PSNR loss, 10*log10(mse_i + 1e-8) averaged over the batch = -PSNR in dB.
- l1_ssim: L1 - w * SSIM (EfficientDerain trains with L1 and 0.2 x negative SSIM).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
import torch.nn as nn

from samdistill.engine.ssim_map import gaussian_ssim_map
from samdistill.methods.config import LossConfig

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_PSNR_EPS = 1e-8


def ssim(pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Differentiable mean SSIM (Gaussian 11x11, sigma 1.5) over the 'valid' region."""
    return gaussian_ssim_map(pred, gt, data_range=data_range).mean()


def l1_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    return (pred - gt).abs().mean()


def mse_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    return ((pred - gt) ** 2).mean()


def charbonnier_loss(pred: torch.Tensor, gt: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((pred - gt) ** 2 + eps * eps).mean()


def psnr_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """-PSNR (dB, data range 1) per image, averaged; minimizing it maximizes PSNR."""
    mse = ((pred - gt) ** 2).flatten(1).mean(1)
    return (10.0 / math.log(10.0)) * torch.log(mse + _PSNR_EPS).mean()


def l1_ssim_loss(pred: torch.Tensor, gt: torch.Tensor, ssim_weight: float = 0.2) -> torch.Tensor:
    return l1_loss(pred, gt) - ssim_weight * ssim(pred, gt)


def build_loss(loss_cfg: LossConfig) -> LossFn:
    """The configured reconstruction loss as a plain function (no state, nothing to save)."""
    name = loss_cfg.name
    if name == "l1":
        return l1_loss
    if name == "mse":
        return mse_loss
    if name == "psnr":
        return psnr_loss
    if name == "charbonnier":
        eps = loss_cfg.charbonnier_eps
        return lambda pred, gt: charbonnier_loss(pred, gt, eps)
    if name == "l1_ssim":
        weight = loss_cfg.ssim_weight
        return lambda pred, gt: l1_ssim_loss(pred, gt, weight)
    raise ValueError(f"train.loss.name: unknown loss {name!r}")


Reconstruct = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def build_reconstruction(loss_cfg: LossConfig) -> Reconstruct:
    """`run(model, lq, gt) -> (restored, loss)`: a network's forward plus its training loss.

    Most losses only see the restored image; RCDNet's multi-stage loss needs every stage's
    background and rain layer, so it runs the network through `forward_stages`.
    """
    if loss_cfg.name == "rcdnet_multistage":
        from samdistill.models.losses_paper import rcdnet_multistage_loss

        def run_stages(model: nn.Module, lq: torch.Tensor, gt: torch.Tensor):
            if not hasattr(model, "forward_stages"):
                raise ValueError(f"train.loss.name=rcdnet_multistage needs a backbone with forward_stages "
                                 f"(RCDNet); {type(model).__name__} has none")
            stages = model.forward_stages(lq)
            return stages.final, rcdnet_multistage_loss(stages, lq, gt)

        return run_stages
    loss_fn = build_loss(loss_cfg)

    def run(model: nn.Module, lq: torch.Tensor, gt: torch.Tensor):
        pred = model(lq)
        return pred, loss_fn(pred, gt)

    return run
