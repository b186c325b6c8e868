"""Which restoration network to build: a registry name plus its constructor arguments."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from samdistill.config.base import StrictModel


class ModelConfig(StrictModel):
    name: str = Field("nafnet_tiny", description="registered backbone name (samdistill models list)")
    args: dict[str, Any] = Field(default_factory=dict, description="constructor keyword arguments")
