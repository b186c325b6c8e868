"""Training checkpoints: everything needed to continue a run exactly, and nothing pickled.

    output_dir/checkpoints/step_0001000/
        method.safetensors      method state_dict minus its frozen prefixes (SAM, VGG)
        optimizer.safetensors   every tensor of the optimizer state, flattened
        rng.safetensors         torch CPU (and CUDA) generator states of every process
        state.json              step, epoch, batch position, config hash, the optimizer's
                                structure (pointing into optimizer.safetensors), the lr
                                schedule position, python/numpy RNG states of every process

A checkpoint is written into a hidden temp folder and renamed into place, and one is deleted by
renaming it to a hidden name first, so `step_*` folders are always complete whenever the process
is killed (tests/engine/test_kill_resume.py); `latest_checkpoint` ignores anything else.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

from samdistill.core.errors import CheckpointError
from samdistill.core.fileperm import respect_umask
from samdistill.core.safetensors_io import read_safetensors, state_mismatches

FORMAT = "samdistill-checkpoint/1"
CHECKPOINTS = "checkpoints"
METHOD_FILE = "method.safetensors"  # in each step_N folder: the method's state dict
STATE_FILE = "state.json"  # in each step_N folder, written last: a folder with it is complete
_STEP_DIR = re.compile(r"^step_(\d+)$")
_TMP_PREFIX = ".tmp-"


@dataclass
class Checkpoint:
    path: Path
    meta: dict[str, Any]
    method_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    rng_states: list[dict[str, Any]]

    @property
    def step(self) -> int:
        return int(self.meta["step"])


# ------------------------------------------------------------------ nested state <-> JSON + tensors

def flatten_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able copy of `obj` with each tensor moved into `tensors` under a dotted name."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().clone().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: flatten_tensors(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        if all(isinstance(k, int) for k in obj):  # optimizer state is keyed by parameter index
            return {"__intdict__": [[k, flatten_tensors(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {prefix!r} of type {type(obj).__name__} in a checkpoint")


def unflatten_tensors(obj: Any, tensors: dict[str, torch.Tensor], source: Path) -> Any:
    if isinstance(obj, list):
        return [unflatten_tensors(v, tensors, source) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        name = obj["__tensor__"]
        if name not in tensors:
            raise CheckpointError(f"{source}: tensor {name!r} listed in state.json is missing")
        return tensors[name]
    if "__intdict__" in obj:
        return {int(k): unflatten_tensors(v, tensors, source) for k, v in obj["__intdict__"]}
    if "__tuple__" in obj:
        return tuple(unflatten_tensors(v, tensors, source) for v in obj["__tuple__"])
    return {k: unflatten_tensors(v, tensors, source) for k, v in obj.items()}


# ------------------------------------------------------------------ random number generators

def capture_rng_state() -> dict[str, Any]:
    """This process's python, numpy, torch CPU and CUDA generator states."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch_cpu": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch_cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def _split_rng(rng_states: list[dict[str, Any]]) -> tuple[list[dict], dict[str, torch.Tensor]]:
    json_part, tensors = [], {}
    for rank, st in enumerate(rng_states):
        tensors[f"rank{rank}.torch_cpu"] = st["torch_cpu"].cpu()
        for i, t in enumerate(st["cuda"]):
            tensors[f"rank{rank}.cuda{i}"] = t.cpu()
        json_part.append({"python": st["python"], "numpy": st["numpy"], "cuda_devices": len(st["cuda"])})
    return json_part, tensors


def _join_rng(json_part: list[dict], tensors: dict[str, torch.Tensor], source: Path) -> list[dict]:
    out = []
    for rank, st in enumerate(json_part):
        names = [f"rank{rank}.torch_cpu"] + [f"rank{rank}.cuda{i}" for i in range(st["cuda_devices"])]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise CheckpointError(f"{source}: missing RNG tensors {missing}")
        out.append({"python": st["python"], "numpy": st["numpy"], "torch_cpu": tensors[names[0]],
                    "cuda": [tensors[n] for n in names[1:]]})
    return out


# ------------------------------------------------------------------ finding checkpoints

def checkpoint_root(output_dir: str | Path) -> Path:
    return Path(output_dir) / CHECKPOINTS


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (step_N folders with a state.json), oldest first."""
    root = checkpoint_root(output_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and child.is_dir() and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    found = list_checkpoints(output_dir)
    return found[-1][1] if found else None


# ------------------------------------------------------------------ save

def _fsync_tree(folder: Path) -> None:
    for path in [*folder.iterdir(), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError:  # some filesystems refuse fsync on folders; the rename is what matters
            pass
        finally:
            os.close(fd)


def method_state_for_checkpoint(method: nn.Module, frozen_prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone().contiguous() for k, v in method.state_dict().items()
            if not k.startswith(tuple(frozen_prefixes))}


def save_checkpoint(output_dir: str | Path, step: int, method_state: dict[str, torch.Tensor],
                    optimizer_state: dict[str, Any], rng_states: list[dict[str, Any]],
                    extra: dict[str, Any] | None = None, keep: int = 2) -> Path:
    """Write `checkpoints/step_{step:07d}` atomically and keep only the newest `keep` ones."""
    root = checkpoint_root(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{_TMP_PREFIX}*"):  # left by a run that crashed while saving
        shutil.rmtree(stale, ignore_errors=True)
    final = root / f"step_{step:07d}"
    tmp = root / f"{_TMP_PREFIX}{final.name}-{os.getpid()}"
    tmp.mkdir()
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_structure = flatten_tensors(optimizer_state, "optimizer", opt_tensors)
    rng_json, rng_tensors = _split_rng(rng_states)
    save_file(method_state, str(tmp / METHOD_FILE))
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    save_file(rng_tensors, str(tmp / "rng.safetensors"))
    meta = {"format": FORMAT, **(extra or {}), "step": step, "optimizer": opt_structure, "rng": rng_json}
    (tmp / STATE_FILE).write_text(json.dumps(meta), encoding="utf-8")  # written last
    respect_umask(tmp, directory=True)
    _fsync_tree(tmp)
    if final.exists():  # saving the same step again (e.g. after a failure right after a resume)
        _remove(final)
    os.replace(tmp, final)
    _fsync_tree(root)
    for _, old in list_checkpoints(output_dir)[:-max(1, keep)]:
        _remove(old)
    return final


def _remove(folder: Path) -> None:
    """Hide first, then delete: a kill during the deletion leaves a temp folder, never a partial step_N."""
    trash = folder.with_name(f"{_TMP_PREFIX}del-{folder.name}-{os.getpid()}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


# ------------------------------------------------------------------ load

def _read_meta(path: Path) -> dict[str, Any]:
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise CheckpointError(f"{state_file}: not found (is {path} a checkpoint folder?)")
    try:
        meta = json.loads(state_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{state_file}: not valid JSON (truncated?): {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "step" not in meta:
        raise CheckpointError(f"{state_file}: not a samdistill training checkpoint (format {FORMAT})")
    return meta


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint folder; any missing, truncated or inconsistent file -> CheckpointError."""
    path = Path(path)
    meta = _read_meta(path)
    method_state, _ = read_safetensors(path / METHOD_FILE)
    opt_file = path / "optimizer.safetensors"
    opt_tensors, _ = read_safetensors(opt_file)
    rng_file = path / "rng.safetensors"
    rng_tensors, _ = read_safetensors(rng_file)
    optimizer_state = unflatten_tensors(meta.get("optimizer", {}), opt_tensors, opt_file)
    rng_states = _join_rng(meta.get("rng", []), rng_tensors, rng_file)
    return Checkpoint(path, meta, method_state, optimizer_state, rng_states)


def load_method_state(method: nn.Module, state: dict[str, torch.Tensor], source: str | Path,
                      frozen_prefixes: tuple[str, ...] = ()) -> None:
    """Strict load of every non-frozen key; mismatches name the file and the keys."""
    own = {k: v for k, v in method.state_dict().items() if not k.startswith(tuple(frozen_prefixes))}
    problems = state_mismatches(own, state)
    if problems:
        raise CheckpointError(f"{source}: does not match {type(method).__name__}: " + "; ".join(problems))
    method.load_state_dict(state, strict=False)


# How the update is computed, not what it is: the resuming run's choice wins over the checkpoint's.
_IMPLEMENTATION_KEYS = ("fused", "foreach")


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any], source: str | Path) -> None:
    chosen = [{k: g[k] for k in _IMPLEMENTATION_KEYS if k in g} for g in optimizer.param_groups]
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{source}: optimizer state does not fit this run's parameters: {err}") from None
    for group, keys in zip(optimizer.param_groups, chosen):
        group.update(keys)
