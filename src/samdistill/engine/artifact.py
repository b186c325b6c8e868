"""The shipped artifact: one restoration network's weights in a single safetensors file.

The file's safetensors metadata names the backbone and its constructor arguments, so
`load_model_artifact` rebuilds the same class; a user without samdistill can do
`net = NAFNet(**args); net.load_state_dict(safetensors.torch.load_file(path))`.
Loading never unpickles anything.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from samdistill.fileperm import respect_umask

FORMAT = "samdistill-model/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, or does not match the network; names the file."""


def atomic_save_file(tensors: dict, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """safetensors save via temp file + rename, so a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    respect_umask(tmp)  # safetensors writes 0600
    os.replace(tmp, path)
    return path


def read_safetensors(path: str | Path) -> tuple[dict, dict[str, str]]:
    """(tensors, metadata) or a CheckpointError naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file (truncated or corrupt?): {err}") from None


def save_model_artifact(model: nn.Module, backbone: str, args: dict[str, Any], path: str | Path,
                        extra: dict[str, str] | None = None) -> Path:
    meta = {"format": FORMAT, "backbone": backbone, "backbone_args": json.dumps(args, sort_keys=True)}
    meta.update(extra or {})
    return atomic_save_file(model.state_dict(), path, meta)


def state_mismatches(own: dict, state: dict) -> list[str]:
    """What keeps `state` from loading into a module whose state dict is `own` (empty: it fits)."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} keys (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} keys (e.g. {unexpected[:3]})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatches (e.g. {shapes[:2]})")
    return problems


def load_state_into(model: nn.Module, state: dict, path: str | Path) -> nn.Module:
    """Strict load with an error that lists missing/unexpected/mis-shaped keys and the file."""
    problems = state_mismatches(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path}: does not match {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state)
    return model


def load_model_artifact(path: str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild the registered backbone named in the file and load its weights (eval mode)."""
    from samdistill.models.registry import create_backbone

    state, meta = read_safetensors(path)
    if meta.get("format") != FORMAT or "backbone" not in meta:
        raise CheckpointError(
            f"{path}: not a samdistill model artifact (metadata format={meta.get('format')!r}); "
            "pass the final model.safetensors of a run, or a training checkpoint folder's model file"
        )
    try:
        args = json.loads(meta.get("backbone_args", "{}"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: corrupt backbone_args metadata: {err}") from None
    model = create_backbone(meta["backbone"], **args)
    load_state_into(model, state, path)
    return model.to(map_location).eval()
