"""The model file's bytes: one network's weights in a safetensors file whose metadata says what
rebuilds it. `model.safetensors` of a run, `samdistill convert`'s output, GoodSAM's `ta.safetensors`.

    format          "samdistill-model/1"
    backbone        the registered network (`models.registry`), e.g. "nafnet_tiny", "segformer"
    backbone_args   its constructor arguments, a JSON object (keys sorted)
    ...             extras: step, config_hash

Written here from a state dict and a spec (registered name, arguments), so the trainer saves the
shipped network without knowing any network; read back here as a spec. Everything that needs a
network or a run folder's layout (rebuilding the network, telling a model file from a run folder or
a training checkpoint, a file's task) is `samdistill.models.artifact`, the module to import. A user
without samdistill can do `net = NAFNet(**args); net.load_state_dict(safetensors.torch.load_file(path))`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import atomic_save_file

FORMAT = "samdistill-model/1"
MODEL_FILE = "model.safetensors"  # a run's shipped network, in its output folder


def save_model_file(state: Mapping[str, Any], backbone: str, args: dict[str, Any], path: str | Path,
                    extra: Optional[dict[str, str]] = None) -> Path:
    """Write `state` (a network's state dict) with the spec that rebuilds it, atomically."""
    meta = {"format": FORMAT, "backbone": backbone, "backbone_args": json.dumps(args, sort_keys=True)}
    meta.update(extra or {})
    return atomic_save_file(state, path, meta)


def is_model_file(meta: Mapping[str, str]) -> bool:
    """Whether a safetensors header's metadata is a model file's."""
    return meta.get("format") == FORMAT and "backbone" in meta


def model_file_spec(meta: Mapping[str, str], path: str | Path) -> tuple[str, dict[str, Any]]:
    """(registered name, constructor arguments) of a model file's metadata (`is_model_file`);
    CheckpointError naming the file when the arguments are not valid JSON."""
    try:
        args = json.loads(meta.get("backbone_args", "{}"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: corrupt backbone_args metadata: {err}") from None
    return meta["backbone"], args
