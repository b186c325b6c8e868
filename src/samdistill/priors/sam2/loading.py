"""Load a SAM 2 / 2.1 image model as transformers' `Sam2Model` from a local Hugging Face folder.

The folder is `config.json` (model_type `sam2`) + `model.safetensors` / `pytorch_model.bin`, loaded
with `local_files_only=True`. The variant (Hiera tiny / small / base+ / large) is read from the
backbone's width and blocks per stage. Official `sam2.1_hiera_*.pt` files are not converted (yet):
they are refused with a message saying so, never unpickled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from samdistill.engine.artifact import CheckpointError
from samdistill.priors.sam.loading import hf_weight_files, read_hf_config

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
    source: str  # "hf"
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
    if path.is_file():
        raise CheckpointError(
            f"{path}: official SAM 2 checkpoints (.pt) are not converted by samdistill yet; give a local "
            "Hugging Face Sam2Model folder (config.json with model_type sam2 + model.safetensors)")
    if not path.is_dir():
        raise CheckpointError(f"{path}: SAM 2 checkpoint not found (expected a Hugging Face Sam2Model folder)")


def inspect_sam2(path: str | Path) -> Sam2Info:
    """Sam2Info from config.json alone (cheap: what fingerprints need)."""
    path = Path(path).expanduser()
    _check_path(path)
    cfg = read_hf_config(path, HF_MODEL_TYPES, "a SAM 2 model")
    image_size = int((cfg.get("prompt_encoder_config") or {}).get("image_size", 1024))
    return Sam2Info(path, "hf", cfg["model_type"], hiera_variant(cfg), image_size,
                    (path / "config.json", *hf_weight_files(path)))


def load_sam2(path: str | Path, device: str | torch.device = "cpu",
              dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, Sam2Info]:
    """(Sam2Model in eval mode on `device` / `dtype`, Sam2Info); CheckpointError names the bad file."""
    info = inspect_sam2(path)
    import transformers

    try:
        model = transformers.Sam2Model.from_pretrained(str(info.path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{info.path}: cannot load Sam2Model: {err}") from None
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False), info
