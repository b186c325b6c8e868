"""Config of the training engine: optimizer, schedule, loop cadence, precision; `train.loss` is the
methods' section (`methods/config.py`), re-exported here."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from samdistill.config.base import StrictModel
from samdistill.methods.config import LossConfig

__all__ = ["LossConfig", "OptimizerConfig", "ScheduleConfig", "TrainConfig"]


class OptimizerConfig(StrictModel):
    name: Literal["adam", "adamw"] = "adam"
    lr: float = Field(1e-4, gt=0, description="SAM4IR paper §4.3: 1e-4")
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(0.0, ge=0)
    fused: bool = Field(
        True,
        description="PyTorch's fused Adam/AdamW kernel (CPU and CUDA): same update rule, one pass over "
        "the weights instead of one per tensor (several times faster on a CPU; docs/benchmarks.md); "
        "false: the reference per-tensor loop",
    )


class ScheduleConfig(StrictModel):
    name: Literal["constant", "cosine", "step"] = "cosine"
    warmup_steps: int = Field(0, ge=0)
    min_lr: float = Field(1e-7, ge=0, description="cosine: final learning rate")
    step_size: int = Field(1000, ge=1, description="step: decay every N steps")
    gamma: float = Field(0.5, gt=0, le=1, description="step: multiply lr by gamma")


class TrainConfig(StrictModel):
    steps: int = Field(2000, ge=1, description="total optimizer steps (an epoch count is converted by the CLI)")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    grad_clip: Optional[float] = Field(
        None, gt=0,
        description="max grad norm, applied to each trained network separately (SAM4IR: IR1, and IR2 with its "
        "SPF units), so IR2's gradients never shrink IR1's step (None: off)",
    )
    val_every: int = Field(500, ge=0, description="validate every N steps (0: only at the end)")
    save_every: int = Field(500, ge=0, description="checkpoint every N steps (0: only at the end)")
    log_every: int = Field(20, ge=1)
    deterministic: bool = Field(False, description="torch deterministic algorithms (needed for exact resume)")
    flush_denormal: bool = Field(
        True,
        description="flush denormal floats (below 1.2e-38) to zero on the CPU while training "
        "(torch.set_flush_denormal, restored after): such gradients slow every CPU op that touches them "
        "several-fold (SAM4IR on EfficientDerain, whose zero-initialised SPF units pass them; docs/benchmarks.md); "
        "GPUs are unaffected",
    )
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    tensorboard: bool = True
    progress: bool = True
