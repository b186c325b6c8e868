"""The shipped artifact: one restoration network's weights in a single safetensors file.

The file's safetensors metadata names the backbone and its constructor arguments, so
`load_model_artifact` rebuilds the same class; a user without samdistill can do
`net = NAFNet(**args); net.load_state_dict(safetensors.torch.load_file(path))`.
Loading never unpickles anything.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch.nn as nn

# Re-exported: these lived here before core/, and callers still import them from here.
from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import atomic_save_file, load_state_into, read_safetensors, state_mismatches

__all__ = ["FORMAT", "CheckpointError", "atomic_save_file", "load_model_artifact", "load_state_into",
           "read_safetensors", "save_model_artifact", "state_mismatches"]

FORMAT = "samdistill-model/1"


def save_model_artifact(model: nn.Module, backbone: str, args: dict[str, Any], path: str | Path,
                        extra: dict[str, str] | None = None) -> Path:
    meta = {"format": FORMAT, "backbone": backbone, "backbone_args": json.dumps(args, sort_keys=True)}
    meta.update(extra or {})
    return atomic_save_file(model.state_dict(), path, meta)


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
