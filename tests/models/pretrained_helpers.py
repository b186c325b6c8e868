"""Shared by the pretrained-weights tests: random-weight backbones and files in the authors' layouts."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from samdistill.models.foreign_keys import layout_for
from samdistill.models.registry import create_backbone

TINY = ("nafnet_tiny", "uformer_tiny", "rcdnet_tiny", "efficientderain_tiny")


def random_backbone(name: str, seed: int, **args) -> nn.Module:
    """A backbone whose every float tensor is moved away from its init (NAFNet's residual scales
    start at zero: untouched, every block would be the identity and wrong keys would go unnoticed)."""
    torch.manual_seed(seed)
    net = create_backbone(name, **args)
    with torch.no_grad():
        for key, tensor in net.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if key.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.add_(0.05 * torch.randn_like(tensor))
    return net.eval()


def authors_state(net: nn.Module) -> dict[str, torch.Tensor]:
    return layout_for(net).to_authors(net.state_dict())


def image(seed: int = 0, size: int = 24) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def save_pth(obj, path: Path) -> Path:
    torch.save(obj, path)
    return path


def module_prefixed(state: dict) -> dict:
    return {f"module.{k}": v for k, v in state.items()}
