"""Weights from anywhere into our backbones: `samdistill convert`, `train --init`, and the loading of
`restore`, `eval` and `export`.

Accepted inputs (the kind is read from the file's content, not its name):
  * a samdistill model artifact (`model.safetensors` of a run; it names its backbone), or a run
    folder holding one;
  * a plain safetensors state dict (ours or an authors' key layout: needs --backbone);
  * a training checkpoint: its `method.safetensors` or the `step_N` folder, or a run folder without
    a final model (its newest checkpoint). IR1 is extracted (the keys under `ir1.`, the shipped
    network of both the plain and the SAM4IR method); the backbone is read from the run's
    `config.yaml` two folders up when it is there;
  * a PyTorch `.pth`/`.pt` file as the authors of NAFNet/BasicSR (`params` / `params_ema`), Uformer
    (`state_dict`), RCDNet and EfficientDerain (a bare state dict) save them, with or without
    DataParallel's `module.` prefixes. Read with `torch.load(weights_only=True)` only: a pickle
    that needs code to be rebuilt (any object other than tensors, dicts, lists and numbers) is
    refused, never executed.

Keys are taken as ours when they fit, else mapped from the authors' layout of the architecture
(`models.foreign_keys`), and then checked: every missing, unexpected or mis-shaped key is named
with the file. BatchNorm's `num_batches_tracked` counters absent from old files start at 0.
"""
from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn as nn

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import read_safetensors
# A run's files and the model file are models/artifact.py's; these names are re-exported from here.
from samdistill.models.artifact import (  # noqa: F401
    IR1_PREFIX, RawWeights, checkpoint_task, is_model_artifact, is_restoration_input, load_model_artifact,
    read_run_weights, read_saved_weights,
)
from samdistill.models.foreign_keys import KeyLayout, guess_backbone, layout_for

# Top-level keys under which training code stores the weights, in the order they are preferred:
# BasicSR/NAFNet save `params` (and `params_ema`, the averaged weights they evaluate, when EMA is on);
# Uformer saves {"epoch", "state_dict", "optimizer"}.
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net_g", "generator", "net")
_DATAPARALLEL = "module."
_LISTED = 12  # keys named per kind of problem
_LISTED_SHAPES = 6
_GUESS_ARCH = {"nafnet": "NAFNet", "uformer": "Uformer", "rcdnet": "RCDNet", "efficientderain": "EfficientDerain"}


# ------------------------------------------------------------------ reading files

def _sniff(path: Path) -> str:
    """'safetensors', 'torch' (zip or legacy pickle), or 'unknown' from the first bytes."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return "torch"
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f" (it stores a {found[1]} object)" if found else ""
        raise CheckpointError(
            f"{path}: refused: this PyTorch file holds pickled Python objects that need code to be rebuilt{what}; "
            "samdistill reads only plain tensors, dicts and lists (torch.load(weights_only=True)) and never runs "
            "code from a weights file. In an environment you trust, re-save just the weights, e.g. "
            "torch.save(model.state_dict(), 'weights.pth'), and pass that file") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt?): {err}") from None


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) for k in obj) \
        and sum(isinstance(v, torch.Tensor) for v in obj.values()) >= max(1, len(obj) // 2)


def _unwrap(obj: Any, path: Path, param_key: Optional[str]) -> tuple[dict[str, Any], str]:
    """The state dict inside a loaded object, and under which key it was found ('' at the top)."""
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict (a dict of tensors)")
    if param_key is not None:
        if param_key not in obj:
            raise CheckpointError(f"{path}: no top-level key {param_key!r}; it has {sorted(map(str, obj))[:20]}")
        if not _is_tensor_dict(obj[param_key]):
            raise CheckpointError(f"{path}: {param_key!r} is not a state dict (a dict of tensors)")
        return obj[param_key], param_key
    for key in WRAPPER_KEYS:
        if key in obj and _is_tensor_dict(obj[key]):
            return obj[key], key
    if _is_tensor_dict(obj):
        return obj, ""
    raise CheckpointError(f"{path}: no state dict found: top-level keys {sorted(map(str, obj))[:20]} (looked for "
                          f"{', '.join(WRAPPER_KEYS)} or a dict of tensors); name it with --param-key")


def _strip_dataparallel(state: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    out, stripped = {}, False
    for key, value in state.items():
        while key.startswith(_DATAPARALLEL):
            key, stripped = key[len(_DATAPARALLEL):], True
        out[key] = value
    return out, stripped


def read_weights(path: str | Path, param_key: Optional[str] = None) -> RawWeights:
    """Read any accepted input into a flat state dict (not yet matched to a network)."""
    path = Path(path)
    if path.is_dir():
        return read_run_weights(path, read_weights)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    kind = _sniff(path)
    if kind == "unknown":
        kind = "safetensors" if path.suffix == ".safetensors" else "torch"
    if kind == "safetensors":
        state, meta = read_safetensors(path)
        ours = read_saved_weights(path, state, meta)  # a model file or a training checkpoint's method state
        if ours is not None:
            return ours
        state, stripped = _strip_dataparallel(state)
        raw = RawWeights(path, state, "safetensors state dict")
        if stripped:
            raw.notes.append("'module.' prefixes removed")
        return raw
    loaded = _torch_load(path)
    state, key = _unwrap(loaded, path, param_key)
    state, stripped = _strip_dataparallel(state)
    raw = RawWeights(path, state, f"PyTorch file (weights under {key!r})" if key else "PyTorch state dict")
    if stripped:
        raw.notes.append("'module.' prefixes removed")
    return raw


# ------------------------------------------------------------------ matching a network

@dataclass
class _Candidate:
    layout: str  # "ours" or the authors' architecture
    state: dict[str, Any]
    origin: dict[str, str]  # key in `state` -> the file's key
    missing: list[str]
    unexpected: list[str]  # the file's names
    shapes: list[str]
    problems: list[str]

    @property
    def fits(self) -> bool:
        return not (self.missing or self.unexpected or self.shapes or self.problems)

    @property
    def badness(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.shapes) + len(self.problems)


def _evaluate(own: dict[str, torch.Tensor], state: dict[str, Any], origin: dict[str, str], layout: str,
              problems: list[str], optional_prefixes: tuple[str, ...],
              file_name: Optional[Any] = None) -> _Candidate:
    state = dict(state)
    for key in [k for k in state if k.startswith(optional_prefixes) and k not in own]:
        del state[key]  # mirrors of the authors' never-used parameters the model was built without
    for key in own:
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(own[key])  # older files have no BatchNorm counters
    missing = sorted(k for k in own if k not in state)
    if file_name is not None:  # name them as the file would: "conv.blocks.0.norm1.weight (our bottleneck...)"
        missing = [k if file_name(k) == k else f"{file_name(k)} (our {k})" for k in missing]
    unexpected = sorted(origin.get(k, k) for k in state if k not in own)
    shapes = []
    for key, value in state.items():
        if key not in own:
            continue
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        if got != tuple(own[key].shape):
            named = key if origin.get(key, key) == key else f"{origin[key]} (our {key})"
            shapes.append(f"{named}: file {got} vs model {tuple(own[key].shape)}")
    return _Candidate(layout, state, origin, missing, unexpected, shapes, list(problems))


def _listing(items: list[str], limit: int = _LISTED) -> str:
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _describe(c: _Candidate) -> str:
    parts = []
    if c.missing:
        parts.append(f"missing {len(c.missing)} key(s): {_listing(c.missing)}")
    if c.unexpected:
        parts.append(f"unexpected {len(c.unexpected)} key(s): {_listing(c.unexpected)}")
    if c.shapes:
        parts.append(f"{len(c.shapes)} shape mismatch(es): {_listing(c.shapes, _LISTED_SHAPES)}")
    parts.extend(c.problems)
    return "; ".join(parts)


def fit_state(model: nn.Module, raw: RawWeights, backbone: str, args: dict[str, Any]) -> tuple[dict, str]:
    """The file's weights under `model`'s keys, checked; and which key layout they were in.

    Raises CheckpointError naming the file, the network and every missing, unexpected or
    mis-shaped key (under the key layout that came closest).
    """
    own = model.state_dict()
    layout: Optional[KeyLayout] = layout_for(model)
    optional = layout.optional_prefixes if layout else ()
    candidates = [_evaluate(own, raw.state, {}, "ours", [], optional)]
    if not candidates[0].fits and layout is not None:
        mapped, origin, problems = layout.to_ours({k: v for k, v in raw.state.items()})
        candidates.append(_evaluate(own, mapped, origin, f"the authors' {layout.arch} layout ({layout.source})",
                                    problems, optional, layout.authors_name))
    for cand in candidates:
        if cand.fits:
            return {k: cand.state[k] for k in own}, cand.layout
    best = min(candidates, key=lambda c: c.badness)
    recorded = ""
    if raw.backbone and (raw.backbone, raw.args or {}) != (backbone, args):
        recorded = f" (the file was saved from {raw.backbone} {json.dumps(raw.args or {}, sort_keys=True)})"
    hint = ""
    guess = guess_backbone(raw.state)
    other_arch = guess is not None and (layout is None or _GUESS_ARCH.get(guess[0]) != layout.arch)
    if guess is not None and (best.shapes or other_arch):  # another size or another network: say which
        hint = f"; its keys look like --backbone {guess[0]} --args '{json.dumps(guess[1])}'"
    raise CheckpointError(
        f"{raw.path}: {raw.kind} does not fit {backbone} {json.dumps(args, sort_keys=True)} "
        f"({type(model).__name__}){recorded}, read as {best.layout}: {_describe(best)}{hint}")


def _parse_args(args: Any, where: str) -> dict[str, Any]:
    if args is None:
        return {}
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{where}: --args must be a JSON object, e.g. '{{\"width\": 32}}': {err}") from None
    if not isinstance(args, dict):
        raise CheckpointError(f"{where}: --args must be a JSON object, e.g. '{{\"width\": 32}}', got {args!r}")
    return dict(args)


def resolve_backbone(raw: RawWeights, backbone: Optional[str], args: Any) -> tuple[str, dict[str, Any]]:
    """The network to build: the one asked for, else the one the file (or its run) records. Arguments
    not given (None) are the recorded ones when the file records this backbone."""
    given = args is not None
    args = _parse_args(args, str(raw.path))
    if backbone:
        if not given and raw.backbone == backbone:
            args = dict(raw.args or {})
        return backbone, args
    if raw.backbone:
        return raw.backbone, (args if given else dict(raw.args or {}))
    guess = guess_backbone(raw.state)
    hint = (f"; its keys look like --backbone {guess[0]} --args '{json.dumps(guess[1])}'" if guess else
            "; `samdistill models list` shows the registered names")
    raise CheckpointError(
        f"{raw.path}: a {raw.kind} does not say which network it holds: pass --backbone NAME (and --args with its "
        f"constructor arguments as JSON){hint}")


def _build(backbone: str, args: dict[str, Any], path: Path) -> nn.Module:
    from samdistill.models.registry import create_backbone

    try:
        return create_backbone(backbone, **args)
    except (KeyError, TypeError, ValueError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        raise CheckpointError(f"{path}: cannot build backbone {backbone!r} with args {json.dumps(args)}: {msg}") from None


@dataclass
class LoadedWeights:
    model: nn.Module  # weights loaded, eval mode, on CPU
    backbone: str
    args: dict[str, Any]
    kind: str  # what the file was
    layout: str  # "ours" or the authors' layout it was mapped from
    notes: list[str]


def load_pretrained(path: str | Path, backbone: Optional[str] = None, args: Any = None,
                    param_key: Optional[str] = None) -> LoadedWeights:
    """Build the backbone (given, or recorded in the file/run) and load any accepted input into it."""
    raw = read_weights(path, param_key)
    name, kwargs = resolve_backbone(raw, backbone, args)
    model = _build(name, kwargs, raw.path)
    state, layout = fit_state(model, raw, name, kwargs)
    model.load_state_dict(state)
    return LoadedWeights(model.eval(), name, kwargs, raw.kind, layout, raw.notes)


def load_into(model: nn.Module, path: str | Path, backbone: str, args: dict[str, Any],
              param_key: Optional[str] = None) -> LoadedWeights:
    """Load any accepted input into an existing network (built as `backbone`/`args`), strictly."""
    raw = read_weights(path, param_key)
    state, layout = fit_state(model, raw, backbone, dict(args))
    with torch.no_grad():
        model.load_state_dict(state)
    return LoadedWeights(model, backbone, dict(args), raw.kind, layout, raw.notes)


def load_pretrained_state(path: str | Path, backbone_name: Optional[str] = None, backbone_args: Any = None,
                          param_key: Optional[str] = None) -> dict[str, torch.Tensor]:
    """A state dict that `create_backbone(backbone_name, **backbone_args)` loads strictly, from any
    accepted input (backbone_name may be None when the file or its run records it)."""
    return load_pretrained(path, backbone_name, backbone_args, param_key).model.state_dict()


def load_restoration_model(path: str | Path, backbone: Optional[str] = None, args: Any = None,
                           map_location: str = "cpu", param_key: Optional[str] = None) -> nn.Module:
    """What `restore`, `eval` and `export` run: a samdistill artifact as before, or any other accepted
    input (with --backbone/--args when the file does not say)."""
    path = Path(path)
    if backbone is None and args is None and path.is_file() and is_model_artifact(path):
        return load_model_artifact(path, map_location=map_location)
    return load_pretrained(path, backbone, args, param_key).model.to(map_location).eval()
