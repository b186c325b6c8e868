"""The whole experiment: one typed object composed of each subsystem's own section."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from samdistill.config.base import StrictModel
from samdistill.data.config import DataConfig
from samdistill.engine.config import TrainConfig
from samdistill.goodsam.config import GoodSAMConfig
from samdistill.metrics.config import EvalConfig
from samdistill.models.config import ModelConfig
from samdistill.priors.config import PriorsConfig
from samdistill.sam4ir.config import SAM4IRConfig


class ExperimentConfig(StrictModel):
    name: str = Field("experiment", description="run name; outputs go to output_dir")
    task: Literal["restoration", "panoramic"] = Field(
        "restoration", description="restoration: SAM4IR or the baseline (model, data, sam4ir sections); panoramic: "
        "GoodSAM (goodsam section)")
    output_dir: str = Field("runs/experiment", description="where checkpoints, logs and the resolved config go")
    seed: int = 0
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    priors: PriorsConfig = Field(default_factory=PriorsConfig)
    sam4ir: SAM4IRConfig = Field(default_factory=SAM4IRConfig)
    goodsam: GoodSAMConfig = Field(default_factory=GoodSAMConfig)
