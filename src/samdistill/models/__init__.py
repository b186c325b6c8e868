"""Networks: `create_backbone`, `list_backbones`, `register_backbone` (from `models.registry`).

Loaded on first use (PEP 562), so that importing a torch-free module of this package (`catalog`,
which `samdistill models list` reads) does not import torch.
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_backbone", "list_backbones", "register_backbone"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from samdistill.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'samdistill.models' has no attribute {name!r}")
