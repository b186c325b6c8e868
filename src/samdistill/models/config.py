"""Which restoration network to build: a registry name plus its constructor arguments, and
optionally the weights it starts from."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from samdistill.config.base import StrictModel


class ModelConfig(StrictModel):
    name: str = Field("nafnet_tiny", description="registered backbone name (samdistill models list)")
    args: dict[str, Any] = Field(default_factory=dict, description="constructor keyword arguments")
    init: Optional[str] = Field(
        None, description="fine-tune from these weights: loaded into the shipped network (IR1) after it is built. "
        "A samdistill model.safetensors, a training checkpoint folder or its method.safetensors (IR1), a plain "
        "safetensors state dict, or the authors' released .pth of NAFNet/BasicSR (params/params_ema), Uformer, "
        "RCDNet or EfficientDerain (read with torch.load(weights_only=True) only; their key names are mapped to "
        "ours). Every key and shape must match model.name/model.args; `samdistill train --init PATH` sets it")
