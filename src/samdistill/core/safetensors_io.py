"""safetensors files: read (tensors + metadata, or the metadata alone), write atomically, and check
that a state dict fits a module. Errors are `CheckpointError`s naming the file. Loading never
unpickles anything. torch is imported inside the functions, not with this module."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from samdistill.core.atomic import atomic_path
from samdistill.core.errors import CheckpointError

_UNREADABLE = "not a readable safetensors file (truncated or corrupt?)"


def _read_errors() -> tuple[type[BaseException], ...]:
    from safetensors import SafetensorError

    return SafetensorError, OSError, ValueError, RuntimeError


def read_safetensors_metadata(path: str | Path) -> dict[str, str]:
    """The file's header metadata (no tensor is read), or a CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except _read_errors() as err:
        raise CheckpointError(f"{path}: {_UNREADABLE}: {err}") from None


def read_safetensors(path: str | Path) -> tuple[dict, dict[str, str]]:
    """(tensors, metadata) or a CheckpointError naming the file and what is wrong."""
    meta = read_safetensors_metadata(path)
    from safetensors.torch import load_file

    try:
        return load_file(str(path)), meta
    except _read_errors() as err:
        raise CheckpointError(f"{path}: {_UNREADABLE}: {err}") from None


def atomic_save_file(tensors: dict, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """safetensors save via temp file + rename, so a crash never leaves a half-written file."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    return Path(path)


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


def load_state_into(model: Any, state: dict, path: str | Path) -> Any:
    """Strict load into an nn.Module with an error that lists missing/unexpected/mis-shaped keys
    and the file."""
    problems = state_mismatches(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path}: does not match {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state)
    return model
