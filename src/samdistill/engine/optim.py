"""Optimizer over the trainable parameters and the learning-rate schedule.

The schedule is an explicit function of the optimizer step (`lr_factor`), applied to every
parameter group's `initial_lr` before each step. It therefore has no state beyond the step count,
resumes exactly, and does not depend on how many processes run (accelerate's prepared schedulers
step once per process).
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn as nn

from samdistill.engine.config import OptimizerConfig, ScheduleConfig


def trainable_parameters(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def build_optimizer(params: nn.Module | Iterable[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """Adam / AdamW over `params` (a module means its parameters that require grad)."""
    params = trainable_parameters(params) if isinstance(params, nn.Module) else list(params)
    if not params:
        raise ValueError("the method has no trainable parameters (everything is frozen)")
    kwargs = dict(lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.fused and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params):
        kwargs["fused"] = True
    optimizer = torch.optim.AdamW(params, **kwargs) if cfg.name == "adamw" else torch.optim.Adam(params, **kwargs)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    return optimizer


def lr_factor(step: int, cfg: ScheduleConfig, total_steps: int, base_lr: float) -> float:
    """Multiplier of the base lr for the update made after `step` completed steps (0-based).

    Linear warmup: (step + 1) / warmup_steps for the first warmup_steps updates. Then
    constant: 1; step: gamma ** ((step - warmup) // step_size); cosine: from base_lr down to
    min_lr, reached at step == total_steps.
    """
    warmup = cfg.warmup_steps
    if step < warmup:
        return (step + 1) / warmup
    done = step - warmup
    if cfg.name == "constant":
        return 1.0
    if cfg.name == "step":
        return cfg.gamma ** (done // cfg.step_size)
    progress = min(1.0, done / max(1, total_steps - warmup))
    floor = cfg.min_lr / base_lr
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def apply_lr(optimizer: torch.optim.Optimizer, step: int, cfg: ScheduleConfig, total_steps: int) -> float:
    """Set every group's lr for the coming update; returns the first group's lr (for logging)."""
    lrs = []
    for group in optimizer.param_groups:
        base = group.setdefault("initial_lr", group["lr"])
        group["lr"] = base * lr_factor(step, cfg, total_steps, base)
        lrs.append(group["lr"])
    return lrs[0]
