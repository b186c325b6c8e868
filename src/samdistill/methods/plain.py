"""The baseline: the restoration network alone, trained with its reconstruction loss."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from samdistill.methods.base import RestorationMethod, StepOutput
from samdistill.methods.config import LossConfig
from samdistill.methods.losses import build_reconstruction
from samdistill.models.registry import create_backbone


class PlainRestoration(RestorationMethod):
    """IR1 + reconstruction loss (the paper's 'baseline' row)."""

    def __init__(self, backbone_name: str, backbone_args: dict[str, Any] | None = None,
                 loss_cfg: LossConfig | None = None):
        super().__init__()
        self.backbone_name = backbone_name
        self.backbone_args = dict(backbone_args or {})
        self.ir1 = create_backbone(backbone_name, **self.backbone_args)
        self.reconstruct = build_reconstruction(loss_cfg or LossConfig())

    def forward(self, batch: dict[str, Any]) -> StepOutput:
        _, loss = self.reconstruct(self.ir1, batch["lq"], batch["gt"])
        return StepOutput(loss, {"loss": float(loss.detach())})

    def restore(self, lq: torch.Tensor) -> torch.Tensor:
        return self.ir1(lq)

    def shipped_model(self) -> nn.Module:
        return self.ir1

    def shipped_spec(self) -> tuple[str, dict[str, Any]]:
        return self.backbone_name, dict(self.backbone_args)
