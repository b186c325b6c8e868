"""The old import path of the checkpoint error and the safetensors helpers, which live in `core/`
(`core.errors`, `core.safetensors_io`, `core.model_file`); these are the same objects. The model
file's functions moved to `samdistill.models.artifact`: the engine imports no model code, so they
are not importable from here (asking for one says where it went).
"""
from __future__ import annotations

from samdistill.core.errors import CheckpointError
from samdistill.core.model_file import FORMAT
from samdistill.core.safetensors_io import atomic_save_file, load_state_into, read_safetensors, state_mismatches

__all__ = ["FORMAT", "CheckpointError", "atomic_save_file", "load_state_into", "read_safetensors",
           "state_mismatches"]

_MOVED = ("load_model_artifact", "save_model_artifact")


def __getattr__(name: str):
    if name in _MOVED:
        raise ImportError(f"{name} moved to samdistill.models.artifact: "
                          f"from samdistill.models.artifact import {name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
