"""The Method contract: what the engine calls on the thing it trains. It lives beside its caller
(the trainer); `methods/` holds the methods themselves (`methods.base` re-exports this).

A method is an `nn.Module` that owns every network it trains. The engine only ever calls what is
defined here, so a method (plain baseline, SAM4IR, GoodSAM, ...) plugs into the same accelerate
loop. Under multi-process training the whole method is wrapped by DDP: `forward` runs through the
wrapper, everything else on the unwrapped module. What a method is evaluated on (`restore` for
restoration, `segment` for segmentation) belongs to its validator, not to this contract; the
restoration methods' base, with restoration's validator, is `methods.base.RestorationMethod`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

if TYPE_CHECKING:  # pragma: no cover
    from samdistill.engine.trainer import Trainer
    from samdistill.engine.validation import Validator


@dataclass
class StepOutput:
    """One training step: the scalar loss to back-propagate and floats to log."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)


class Method(nn.Module):
    """Base class; subclasses implement forward, shipped_model and shipped_spec."""

    def forward(self, batch: dict[str, Any]) -> StepOutput:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(batch) -> StepOutput")

    def shipped_model(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement shipped_model()")

    def shipped_spec(self) -> tuple[str, dict[str, Any]]:  # pragma: no cover - abstract
        """(registered backbone name, constructor args) of `shipped_model()`."""
        raise NotImplementedError(f"{type(self).__name__} must implement shipped_spec()")

    def extra_artifacts(self) -> dict[str, tuple[nn.Module, str, dict[str, Any]]]:
        """Other trained networks to save beside the shipped one at the end of training:
        {file name: (network, registered name, constructor args)} (e.g. GoodSAM's TA)."""
        return {}

    def frozen_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes left out of checkpoints (frozen, rebuilt from their own weights)."""
        return ()

    def grad_clip_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trained parameters by network; `train.grad_clip` clips each group's norm on its own,
        so one network's large gradients never shrink another's step. Default: one group."""
        return {"": [p for p in self.parameters() if p.requires_grad]}

    def on_step_start(self, step: int, trainer: "Trainer") -> None:
        """Called before every optimizer step with the number of steps already done."""

    def extra_validation(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Extra outputs to score during validation, e.g. {"ir2": I2} (restoration) or
        {"ta": teacher-assistant logits} (segmentation)."""
        return {}

    def validator(self, eval_cfg: Any) -> "Validator":
        """What validation scores: an object with the engine's `Validator` protocol
        (`engine/validation.py`). The engine knows no task, so it has no default here: restoration
        methods subclass `methods.base.RestorationMethod` (PSNR/SSIM of `restore(lq)`), segmentation
        methods return `methods.validation.SegmentationValidator(num_classes)` and implement
        `segment(image) -> logits`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement validator(eval_cfg) (what validation scores), or subclass "
            "samdistill.methods.base.RestorationMethod for PSNR/SSIM of restore(lq)")
