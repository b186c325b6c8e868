"""A tiny registered backbone and its shipped artifact, for restore/eval tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

from samdistill.engine.artifact import save_model_artifact
from samdistill.models.registry import register_backbone


class ScaledIdentity(nn.Module):
    """y = gain * x through a 1x1 conv (gain 1: the identity network); needs multiples of 4."""

    pad_multiple = 4

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 3, 1, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.eye(3).view(3, 3, 1, 1) * gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0, "restore must pad to the multiple"
        return self.proj(x)


@register_backbone("test_scaled_identity", paper="test only")
def scaled_identity(gain: float = 1.0) -> nn.Module:
    return ScaledIdentity(gain)


@pytest.fixture
def artifact(tmp_path: Path):
    """Factory: write a ScaledIdentity artifact with the given gain, return its path."""

    def make(gain: float = 1.0) -> Path:
        return save_model_artifact(ScaledIdentity(gain), "test_scaled_identity", {"gain": gain},
                                   tmp_path / f"model_gain{gain}.safetensors")

    return make


@pytest.fixture
def scaled_net():
    """Factory: a ScaledIdentity network (gain 1.0 is the identity)."""
    return ScaledIdentity
