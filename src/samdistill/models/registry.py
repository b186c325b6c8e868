"""One registry of networks: `create_backbone("nafnet_tiny", width=16)`; restoration backbones, and
segmenters (task "segmentation", SegFormer) so they ship through the same artifact code.

A backbone is a plain `nn.Module` mapping an image batch (B,3,H,W in [0,1]) to an image batch of
the same shape. It may declare, as class attributes:
  - `spf_attach_points`: module paths of its building blocks, where SAM4IR's SPF units attach
    (one unit per block, paper eq. 3). A user's own network can instead name them in the config.
  - `pad_multiple`: input sizes must be a multiple of this (inference pads and crops back).
Variants (tiny/small/base...) are registered next to their architecture with `@register_backbone`.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

import torch.nn as nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_INFO: dict[str, dict[str, Any]] = {}

# Architecture modules imported on first lookup (keeps `import samdistill` light).
_ARCH_MODULES = (
    "samdistill.models.nafnet",
    "samdistill.models.rcdnet",
    "samdistill.models.efficientderain",
    "samdistill.models.uformer",
    "samdistill.models.segformer",
)


def register_backbone(name: str, task: str = "restoration", paper: str = "") -> Callable:
    """Decorator for a factory function `(**kwargs) -> nn.Module`."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"backbone {name!r} registered twice")
        _REGISTRY[name] = fn
        _INFO[name] = {"task": task, "paper": paper, "doc": (fn.__doc__ or "").strip().splitlines()[0:1]}
        return fn

    return wrap


def _load_all() -> None:
    for mod in _ARCH_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:  # a real import error inside the module must surface
                raise


def list_backbones(task: str | None = "restoration") -> list[str]:
    """Registered names: "restoration" (default) every image-to-image network (deraining,
    deblurring, ... included), "segmentation" the segmenters, another string that exact task,
    None every network."""
    _load_all()

    def wanted(name: str) -> bool:
        kind = _INFO[name]["task"]
        if task is None:
            return True
        if task == "restoration":
            return kind != "segmentation"
        return kind == task

    return sorted(n for n in _REGISTRY if wanted(n))


def backbone_info(name: str) -> dict[str, Any]:
    _load_all()
    return dict(_INFO[name])


def backbone_factory(name: str) -> Callable[..., nn.Module]:
    """The registered constructor (function or class), e.g. to check arguments before building."""
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown backbone {name!r}; registered: {', '.join(sorted(_REGISTRY)) or 'none'}")
    return _REGISTRY[name]


def create_backbone(name: str, **kwargs: Any) -> nn.Module:
    _load_all()
    if name not in _REGISTRY:
        raise KeyError(f"unknown backbone {name!r}; registered: {', '.join(sorted(_REGISTRY)) or 'none'}")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as err:
        raise TypeError(f"backbone {name!r}: bad constructor arguments {sorted(kwargs)}: {err}") from None


def spf_attach_points(model: nn.Module) -> list[str]:
    """The module paths a backbone declares as its building blocks (may be empty)."""
    return list(getattr(model, "spf_attach_points", ()) or ())


def pad_multiple(model: nn.Module) -> int:
    return int(getattr(model, "pad_multiple", 1) or 1)
