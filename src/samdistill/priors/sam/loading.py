"""Load a SAM model as a transformers `SamModel` (or `SamHQModel`) from local files only.

Two sources:
- a Hugging Face directory (`config.json` + `model.safetensors` / `pytorch_model.bin`), loaded
  with `local_files_only=True` so nothing is ever fetched;
- an official segment-anything checkpoint (`sam_vit_{b,l,h}_*.pth`) or SAM-HQ's (`sam_hq_vit_{b,l,h}.pth`,
  recognised by its HQ decoder tensors, loaded as `SamHQModel`): read with
  `torch.load(weights_only=True)`, its architecture read off its tensors (see `infer_config`),
  keys renamed by `convert.official_to_hf`.
`inspect_sam` gives the same `SamInfo` without building the model (cheap: config.json, or the
.pth memory-mapped), which is what segmenter fingerprints need.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import state_mismatches
from samdistill.priors.sam.convert import official_to_hf
from samdistill.priors.sam.official_config import config_dict_from_official, is_sam_hq, official_variant

HF_MODEL_TYPES = ("sam", "sam_hq")
HF_WEIGHT_PATTERNS = ("model.safetensors", "model-*.safetensors", "model.safetensors.index.json",
                      "pytorch_model.bin", "pytorch_model-*.bin", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class SamInfo:
    path: Path
    source: str  # "hf" | "official"
    model_type: str  # "sam" | "sam_hq" (transformers' model_type)
    variant: str  # "vit_b" | "vit_l" | "vit_h" | "custom"
    image_size: int
    files: tuple[Path, ...] = field(default_factory=tuple)  # what identifies the weights


def load_sam(path: str | Path, device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, SamInfo]:
    """(model in eval mode on `device` / `dtype`, SamInfo); CheckpointError names the bad file."""
    path = Path(path).expanduser()
    if path.is_dir():
        model, info = _load_hf_dir(path)
    elif path.is_file():
        model, info = _load_official(path)
    else:
        raise CheckpointError(f"{path}: SAM checkpoint not found (expected a Hugging Face model "
                              "directory or an official sam_vit_*.pth file)")
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False), info


def inspect_sam(path: str | Path) -> SamInfo:
    path = Path(path).expanduser()
    if path.is_dir():
        return _hf_info(path, read_hf_config(path))
    if path.is_file():
        state = read_official_state(path, mmap=True)
        return _official_info(path, config_dict_from_official(state, path, read_sidecar(path)), is_sam_hq(state))
    raise CheckpointError(f"{path}: SAM checkpoint not found")


# ---------------------------------------------------------------- Hugging Face directories

def read_hf_config(path: Path, model_types: tuple[str, ...] = HF_MODEL_TYPES,
                   kind: str = "a SAM model") -> dict[str, Any]:
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"{path}: not a Hugging Face model directory (no config.json)")
    try:
        cfg = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{cfg_file}: unreadable JSON: {err}") from None
    if cfg.get("model_type") not in model_types:
        raise CheckpointError(f"{cfg_file}: model_type {cfg.get('model_type')!r} is not {kind} "
                              f"(supported: {', '.join(model_types)})")
    return cfg


def hf_weight_files(path: Path) -> list[Path]:
    files = sorted({f for pattern in HF_WEIGHT_PATTERNS for f in path.glob(pattern)})
    if not files:
        raise CheckpointError(f"{path}: no weights found (expected model.safetensors or pytorch_model.bin)")
    return files


def _hf_info(path: Path, cfg: dict[str, Any]) -> SamInfo:
    vision = cfg.get("vision_config") or {}
    hidden, depth = vision.get("hidden_size", 768), vision.get("num_hidden_layers", 12)
    variant = official_variant(hidden, depth, vision.get("global_attn_indexes", [2, 5, 8, 11]))
    files = (path / "config.json", *hf_weight_files(path))
    return SamInfo(path, "hf", cfg["model_type"], variant, int(vision.get("image_size", 1024)), files)


def _load_hf_dir(path: Path) -> tuple[torch.nn.Module, SamInfo]:
    info = _hf_info(path, read_hf_config(path))
    import transformers

    cls = transformers.SamHQModel if info.model_type == "sam_hq" else transformers.SamModel
    try:
        model = cls.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{path}: cannot load {cls.__name__}: {err}") from None
    return model, info


# ---------------------------------------------------------------- official .pth checkpoints

def read_official_state(path: Path, mmap: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a segment-anything .pth, never unpickling anything but tensors."""
    try:
        obj = _torch_load(path, mmap)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for bad files
        raise CheckpointError(f"{path}: cannot read checkpoint (truncated, corrupt, or not a "
                              f"weights-only PyTorch file): {type(err).__name__}: {err}") from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # some re-saved checkpoints wrap the state dict
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: expected a state dict of tensors, got {type(obj).__name__}")
    bad = sorted(k for k, v in obj.items() if not isinstance(v, torch.Tensor))
    if bad:
        raise CheckpointError(f"{path}: non-tensor entries in the state dict: {bad[:10]}")
    return obj


def _torch_load(path: Path, mmap: bool) -> Any:
    if mmap:
        try:
            return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err):  # legacy (non-zip) files cannot be memory-mapped
                raise
    return torch.load(str(path), map_location="cpu", weights_only=True)


def read_sidecar(path: Path) -> dict[str, Any]:
    """Optional `<checkpoint>.json` next to a .pth: SamConfig sub-config overrides."""
    side = path.with_suffix(".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{side}: unreadable JSON: {err}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{side}: expected a JSON object of SamConfig overrides")
    return data


def _official_info(path: Path, cfg: dict[str, Any], hq: bool = False) -> SamInfo:
    vision = cfg["vision_config"]
    variant = official_variant(vision["hidden_size"], vision["num_hidden_layers"], vision["global_attn_indexes"])
    files = (path,) + ((path.with_suffix(".json"),) if path.with_suffix(".json").is_file() else ())
    return SamInfo(path, "official", "sam_hq" if hq else "sam", variant, vision["image_size"], files)


def _load_official(path: Path) -> tuple[torch.nn.Module, SamInfo]:
    import transformers

    state = read_official_state(path, mmap=True)
    hq = is_sam_hq(state)
    cfg_dict = config_dict_from_official(state, path, read_sidecar(path))
    info = _official_info(path, cfg_dict, hq)
    hf_state = official_to_hf(state, source=str(path))
    config_cls, model_cls = ((transformers.SamHQConfig, transformers.SamHQModel) if hq
                             else (transformers.SamConfig, transformers.SamModel))
    with torch.device("meta"):  # no random init of (up to) 640M parameters
        model = model_cls(config_cls(**cfg_dict))
    _check_keys(model, hf_state, path)
    model.load_state_dict({k: v.float() for k, v in hf_state.items()}, strict=True, assign=True)
    return model, info


def _check_keys(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    problems = state_mismatches(model.state_dict(), state)
    if problems:
        raise CheckpointError(f"{path}: does not match the SAM architecture read from it: " + "; ".join(problems))
