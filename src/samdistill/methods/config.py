"""Config of the restoration methods' reconstruction loss (`train.loss`; `methods/losses.py`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from samdistill.config.base import StrictModel


class LossConfig(StrictModel):
    name: Literal["l1", "charbonnier", "psnr", "l1_ssim", "mse", "rcdnet_multistage"] = Field(
        "l1",
        description="rcdnet_multistage: RCDNet's loss on every stage's background and rain layer "
        "(needs a backbone with forward_stages)",
    )
    charbonnier_eps: float = Field(1e-3, gt=0)
    ssim_weight: float = Field(0.2, ge=0, description="l1_ssim: L1 - w*SSIM (EfficientDerain uses 0.2)")
