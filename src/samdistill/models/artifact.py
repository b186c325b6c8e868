"""The model file and where a run keeps its weights: saving, loading and recognising them, in one place.

A model file (`model.safetensors` of a run, `samdistill convert`'s output, GoodSAM's
`ta.safetensors`) holds one network's weights; its safetensors metadata names the registered
network and its constructor arguments (`core/model_file.py`, the bytes, which the trainer writes
from a state dict and a spec without knowing any network), so `load_model_artifact` rebuilds the
same class. Loading never unpickles anything.

A run folder (what the trainer writes, `engine/checkpoint.py`):

    run/model.safetensors                         the shipped network, a model file (at the end)
    run/config.yaml                               the run's configuration (model.name / model.args)
    run/checkpoints/step_N/method.safetensors     the whole method's state dict; a restoration
    run/checkpoints/step_N/state.json             method ships the network under `ir1.` (IR1)

`read_saved_weights` / `read_run_weights` find the weights of any of these (IR1 extracted from a
method state, the backbone read from the run's config.yaml); `models/pretrained.py` reads the rest
(authors' .pth files, plain state dicts) and fits any of them to a network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch.nn as nn

from samdistill.core.errors import CheckpointError
from samdistill.core.model_file import FORMAT, MODEL_FILE, is_model_file, model_file_spec, save_model_file
from samdistill.core.safetensors_io import load_state_into, read_safetensors, read_safetensors_metadata
from samdistill.engine.checkpoint import CHECKPOINTS, METHOD_FILE, STATE_FILE, latest_checkpoint

__all__ = ["FORMAT", "IR1_PREFIX", "MODEL_FILE", "CheckpointError", "RawWeights", "checkpoint_task",
           "is_model_artifact", "is_restoration_input", "load_model_artifact", "read_model_artifact",
           "read_run_weights", "read_saved_weights", "save_model_artifact"]

IR1_PREFIX = "ir1."  # the shipped network's attribute in PlainRestoration and SAM4IRMethod
RUN_CONFIG = "config.yaml"


# ------------------------------------------------------------------ the model file

def save_model_artifact(model: nn.Module, backbone: str, args: dict[str, Any], path: str | Path,
                        extra: dict[str, str] | None = None) -> Path:
    """Write `model`'s weights with (backbone, args), the registered name and arguments that rebuild it."""
    return save_model_file(model.state_dict(), backbone, args, path, extra)


def read_model_artifact(path: str | Path) -> tuple[dict, str, dict[str, Any]]:
    """(state dict, registered name, constructor arguments) of a model file; CheckpointError otherwise."""
    state, meta = read_safetensors(path)
    if not is_model_file(meta):
        raise CheckpointError(
            f"{path}: not a samdistill model artifact (metadata format={meta.get('format')!r}); "
            "pass the final model.safetensors of a run, or a training checkpoint folder's model file"
        )
    return (state, *model_file_spec(meta, path))


def load_model_artifact(path: str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild the registered backbone named in the file and load its weights (eval mode)."""
    from samdistill.models.registry import create_backbone

    state, backbone, args = read_model_artifact(path)
    model = create_backbone(backbone, **args)
    load_state_into(model, state, path)
    return model.to(map_location).eval()


def is_model_artifact(path: str | Path) -> bool:
    """A readable safetensors file whose metadata is a model file's (never raises)."""
    try:
        return is_model_file(read_safetensors_metadata(path))
    except CheckpointError:
        return False


def checkpoint_task(path: Union[str, Path]) -> str:
    """The registry task ("segmentation", "restoration", ...) of a checkpoint, from its metadata only.

    A folder counts as a Hugging Face SegFormer directory ("segmentation"; loading checks it).
    Raises CheckpointError naming the file when it is missing, unreadable, not a samdistill artifact
    or names a network that is not registered.
    """
    from samdistill.models.registry import backbone_info, list_backbones

    path = Path(path)
    if path.is_dir():
        return "segmentation"
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found (give a model.safetensors or a SegFormer folder)")
    meta = read_safetensors_metadata(path)
    name = meta.get("backbone")
    if not is_model_file(meta) or not name:
        raise CheckpointError(f"{path}: not a samdistill model artifact (metadata format={meta.get('format')!r}); "
                              "pass the final model.safetensors of a run")
    if name not in list_backbones(task=None):
        raise CheckpointError(f"{path}: names the network {name!r}, which this samdistill does not have")
    return str(backbone_info(name)["task"])


# ------------------------------------------------------------------ a run's weights

@dataclass
class RawWeights:
    """A file's tensors (IR1 already extracted from a method state) and what the file says of them."""

    path: Path
    state: dict[str, Any]
    kind: str  # human words: "samdistill model artifact", "PyTorch file (params_ema)", ...
    backbone: Optional[str] = None
    args: Optional[dict[str, Any]] = None
    notes: list[str] = field(default_factory=list)


def _run_config_model(run_dir: Path) -> tuple[Optional[str], Optional[dict]]:
    """model.name / model.args from a run folder's config.yaml (None when absent or unreadable)."""
    import yaml

    cfg_file = run_dir / RUN_CONFIG
    if not cfg_file.is_file():
        return None, None
    try:
        cfg = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}
        model = cfg.get("model") or {}
    except (yaml.YAMLError, OSError, AttributeError):
        return None, None
    if cfg.get("task", "restoration") != "restoration" or not isinstance(model.get("name"), str):
        return None, None
    return model["name"], dict(model.get("args") or {})


def _extract_ir1(state: dict[str, Any], path: Path) -> dict[str, Any]:
    ir1 = {k[len(IR1_PREFIX):]: v for k, v in state.items() if k.startswith(IR1_PREFIX)}
    if not ir1:
        prefixes = sorted({k.split(".", 1)[0] for k in state})
        raise CheckpointError(f"{path}: a training method state without IR1 weights (no keys under "
                              f"{IR1_PREFIX!r}; top-level modules: {prefixes[:10]}); is it a restoration run?")
    return ir1


def _read_method_file(method_file: Path, kind: str, state: Optional[dict] = None) -> RawWeights:
    if state is None:
        state, _ = read_safetensors(method_file)
    run_dir = method_file.parent.parent.parent  # run/checkpoints/step_N/method.safetensors
    name, args = _run_config_model(run_dir)
    raw = RawWeights(method_file, _extract_ir1(state, method_file), kind, name, args)
    if name:
        raw.notes.append(f"backbone {name} from {run_dir / RUN_CONFIG}")
    return raw


def read_run_weights(folder: Path, read_file: Callable[[Path], RawWeights]) -> RawWeights:
    """The shipped network of a training checkpoint folder (IR1 of its method state) or of a run folder
    (its model file, read by `read_file` as any weights file; else IR1 of its newest checkpoint);
    CheckpointError for any other folder."""
    if (folder / METHOD_FILE).is_file():
        return _read_method_file(folder / METHOD_FILE, "training checkpoint (IR1)")
    if (folder / MODEL_FILE).is_file():
        return read_file(folder / MODEL_FILE)
    newest = latest_checkpoint(folder)
    if newest is not None:
        raw = _read_method_file(newest / METHOD_FILE, "training checkpoint (IR1)")
        raw.notes.append(f"newest checkpoint {newest.name} (no {MODEL_FILE} in {folder})")
        return raw
    raise CheckpointError(f"{folder}: a folder, but not a training checkpoint (no {METHOD_FILE}) nor a run "
                          f"folder (no {MODEL_FILE} or {CHECKPOINTS}/step_*)")


def read_saved_weights(path: Path, state: dict[str, Any], meta: dict[str, str]) -> Optional[RawWeights]:
    """A safetensors file samdistill wrote (already read: `state`, `meta`): a model file, or a training
    checkpoint's method state (IR1 extracted). None for any other state dict."""
    if is_model_file(meta):
        return RawWeights(path, state, "samdistill model artifact", *model_file_spec(meta, path))
    if any(k.startswith(IR1_PREFIX) for k in state) or path.name == METHOD_FILE \
            or (path.parent / STATE_FILE).is_file():
        return _read_method_file(path, "training checkpoint's method state (IR1)", state)
    return None


def is_restoration_input(path: str | Path) -> bool:
    """True for inputs only a restoration network comes from: a training checkpoint (folder or method
    file), a run folder, a PyTorch file or a safetensors file that is not a samdistill artifact.
    A samdistill artifact or a Hugging Face folder: False (their task is read from them)."""
    path = Path(path)
    if path.is_dir():
        if (path / METHOD_FILE).is_file() or (path / STATE_FILE).is_file():
            return True
        if (path / "config.json").is_file():
            return False  # a Hugging Face model folder
        if (path / MODEL_FILE).is_file():
            return _artifact_task(path / MODEL_FILE) != "segmentation"
        return (path / CHECKPOINTS).is_dir()
    if not path.is_file():
        return False
    return not is_model_artifact(path)


def _artifact_task(path: Path) -> str:
    try:
        return checkpoint_task(path)
    except CheckpointError:
        return "restoration"
