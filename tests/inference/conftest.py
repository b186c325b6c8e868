"""A tiny registered backbone and its shipped artifact, for restore/eval tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn

from samdistill.models.artifact import save_model_artifact
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


class ColorCodedSegmenter(nn.Module):
    """A segmentation network whose prediction is read from the image: class = round(255 * red).

    Logits are 10 * one-hot of that class (ids above num_classes - 1 are clamped), so tests choose
    the prediction of every pixel by painting it.
    """

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = torch.round(x[:, 0] * 255).long().clamp(0, self.num_classes - 1)
        return self.scale * torch.nn.functional.one_hot(ids, self.num_classes).permute(0, 3, 1, 2).float()


@register_backbone("test_color_segmenter", task="segmentation", paper="test only")
def color_segmenter(num_classes: int = 19) -> nn.Module:
    return ColorCodedSegmenter(num_classes)


@pytest.fixture
def tiny_segformer_artifact(tmp_path: Path):
    """Factory: a randomly initialized "tiny" SegFormer saved as a samdistill artifact; returns (path, net)."""

    def make(num_classes: int = 19, seed: int = 0, name: str = "student.safetensors"):
        from samdistill.models.registry import create_backbone

        torch.manual_seed(seed)
        net = create_backbone("segformer", size="tiny", num_classes=num_classes).eval()
        path = save_model_artifact(net, "segformer", {"size": "tiny", "num_classes": num_classes}, tmp_path / name)
        return path, net

    return make
