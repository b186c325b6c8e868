"""Load SAM 3's image model (transformers' `Sam3Model`) and its CLIP tokenizer from a local folder.

The folder is `config.json` (model_type `sam3`) + `model.safetensors` / `pytorch_model.bin` + the
tokenizer files saved with it (`tokenizer.json`, or `vocab.json` + `merges.txt`, and
`tokenizer_config.json`), all loaded with `local_files_only=True`: nothing is downloaded. No
official `sam3.pt` conversion: a file is refused with a message saying why (see `inspect_sam3`),
never unpickled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from samdistill.core.errors import CheckpointError
from samdistill.priors.sam.loading import hf_weight_files, read_hf_config

HF_MODEL_TYPES = ("sam3",)
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")
TEXT_LENGTH = 32  # Sam3Processor pads every prompt to 32 tokens


@dataclass(frozen=True)
class Sam3Info:
    path: Path
    model_type: str  # "sam3"
    image_size: int
    files: tuple[Path, ...] = field(default_factory=tuple)  # weights + tokenizer: what identifies the output


def _image_size(cfg: dict[str, Any]) -> int:
    backbone = (cfg.get("vision_config") or {}).get("backbone_config") or {}
    size = backbone.get("image_size", 1008)
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def inspect_sam3(path: str | Path) -> Sam3Info:
    """Sam3Info from config.json and the file listing alone (cheap: what fingerprints need)."""
    path = Path(path).expanduser()
    if path.is_file():
        raise CheckpointError(
            f"{path}: official SAM 3 checkpoints (sam3.pt) are not converted by samdistill (the file is not read): "
            "only a local Hugging Face Sam3Model folder (config.json model_type sam3 + weights + CLIP tokenizer) is "
            "supported. Why: the key mapping of transformers' convert_sam3_to_hf.py loads non-strictly (its own "
            "notes list keys it leaves missing or unexpected) and reshapes tensors (cls position dropped, qkv "
            "split, text projection transposed, RoPE tables dropped); without sam3's module layout it cannot be "
            "checked here to give the same outputs. Convert the file once with that script, or use the "
            "facebook/sam3 Hugging Face folder")
    if not path.is_dir():
        raise CheckpointError(f"{path}: SAM 3 checkpoint not found (expected a Hugging Face Sam3Model folder)")
    cfg = read_hf_config(path, HF_MODEL_TYPES, "a SAM 3 model")
    tokenizer = [path / f for f in TOKENIZER_FILES if (path / f).is_file()]
    if not any(f.name in ("tokenizer.json", "vocab.json") for f in tokenizer):
        raise CheckpointError(f"{path}: no tokenizer (SAM 3's text prompts need tokenizer.json, or vocab.json + "
                              "merges.txt, saved in the model folder)")
    return Sam3Info(path, cfg["model_type"], _image_size(cfg), (path / "config.json", *hf_weight_files(path), *tokenizer))


def load_sam3(path: str | Path, device: str | torch.device = "cpu",
              dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, Any, Sam3Info]:
    """(Sam3Model in eval mode on `device` / `dtype`, its CLIP tokenizer, Sam3Info)."""
    info = inspect_sam3(path)
    import transformers

    try:
        model = transformers.Sam3Model.from_pretrained(str(info.path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{info.path}: cannot load Sam3Model: {err}") from None
    try:
        tokenizer = transformers.CLIPTokenizer.from_pretrained(str(info.path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{info.path}: cannot load SAM 3's CLIP tokenizer: {err}") from None
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False), tokenizer, info
