"""Load a SAM 2 / 2.1 image model as transformers' `Sam2Model` from local files only.

Two sources:
- a Hugging Face folder: `config.json` (model_type `sam2`) + `model.safetensors` / `pytorch_model.bin`,
  loaded with `local_files_only=True`;
- an official checkpoint (`sam2.1_hiera_{tiny,small,base_plus,large}.pt`, SAM 2.0's `sam2_hiera_*.pt`):
  read with `torch.load(weights_only=True)`, its architecture read off its tensors and its keys
  renamed by `official.official_to_hf` (the video modules are dropped). An optional side-car
  `<checkpoint>.json` holds Sam2Config overrides (needed only for unreleased architectures).
The variant (Hiera tiny / small / base+ / large) is read from the backbone's width and blocks per stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import state_mismatches
from samdistill.priors.sam.loading import hf_weight_files, read_hf_config, read_official_state, read_sidecar
from samdistill.priors.sam2.official import config_dict_from_official, official_to_hf

HF_MODEL_TYPES = ("sam2",)
# The released Hiera image encoders of SAM 2 and 2.1: (stage-1 width, blocks per stage).
HIERA_VARIANTS = {
    "hiera_t": (96, (1, 2, 7, 2)),
    "hiera_s": (96, (1, 2, 11, 2)),
    "hiera_b+": (112, (2, 3, 16, 3)),
    "hiera_l": (144, (2, 6, 36, 4)),
}


@dataclass(frozen=True)
class Sam2Info:
    path: Path
    source: str  # "hf" | "official"
    model_type: str  # "sam2"
    variant: str  # a HIERA_VARIANTS key or "custom"
    image_size: int
    files: tuple[Path, ...] = field(default_factory=tuple)  # what identifies the weights


def hiera_variant(cfg: dict[str, Any]) -> str:
    backbone = (cfg.get("vision_config") or {}).get("backbone_config") or {}
    dims = backbone.get("embed_dim_per_stage") or [backbone.get("hidden_size", 96)]
    blocks = tuple(backbone.get("blocks_per_stage") or (1, 2, 7, 2))
    for name, (width, stages) in HIERA_VARIANTS.items():
        if (dims[0], blocks) == (width, stages):
            return name
    return "custom"


def _check_path(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(f"{path}: SAM 2 checkpoint not found (expected a Hugging Face Sam2Model folder or an "
                              "official sam2.1_hiera_*.pt file)")


def _official_info(path: Path, cfg: dict[str, Any], variant: str) -> Sam2Info:
    side = path.with_suffix(".json")
    files = (path,) + ((side,) if side.is_file() else ())
    return Sam2Info(path, "official", "sam2", variant, int(cfg["prompt_encoder_config"]["image_size"]), files)


def _read_official(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], Sam2Info]:
    state = read_official_state(path, mmap=True)
    cfg, variant = config_dict_from_official(state, path, read_sidecar(path))
    return state, cfg, _official_info(path, cfg, variant)


def inspect_sam2(path: str | Path) -> Sam2Info:
    """Sam2Info from config.json alone, or the .pt memory-mapped (cheap: what fingerprints need)."""
    path = Path(path).expanduser()
    _check_path(path)
    if path.is_file():
        return _read_official(path)[2]
    cfg = read_hf_config(path, HF_MODEL_TYPES, "a SAM 2 model")
    image_size = int((cfg.get("prompt_encoder_config") or {}).get("image_size", 1024))
    return Sam2Info(path, "hf", cfg["model_type"], hiera_variant(cfg), image_size,
                    (path / "config.json", *hf_weight_files(path)))


def load_sam2(path: str | Path, device: str | torch.device = "cpu",
              dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, Sam2Info]:
    """(Sam2Model in eval mode on `device` / `dtype`, Sam2Info); CheckpointError names the bad file."""
    path = Path(path).expanduser()
    _check_path(path)
    model, info = _load_official(path) if path.is_file() else _load_hf_dir(path)
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False), info


def _load_hf_dir(path: Path) -> tuple[torch.nn.Module, Sam2Info]:
    info = inspect_sam2(path)
    import transformers

    try:
        model = transformers.Sam2Model.from_pretrained(str(info.path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{info.path}: cannot load Sam2Model: {err}") from None
    return model, info


def _load_official(path: Path) -> tuple[torch.nn.Module, Sam2Info]:
    import transformers

    state, cfg, info = _read_official(path)
    hf_state = official_to_hf(state, source=str(path))
    try:
        config = transformers.Sam2Config(**cfg)
        with torch.device("meta"):  # no random init of (up to) 224M parameters
            model = transformers.Sam2Model(config)
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: cannot build the SAM 2 architecture read from it: {err}") from None
    problems = state_mismatches(model.state_dict(), hf_state)
    if problems:
        raise CheckpointError(f"{path}: does not match the SAM 2 architecture read from it: " + "; ".join(problems))
    model.load_state_dict({k: v.float() for k, v in hf_state.items()}, strict=True, assign=True)
    return model, info
