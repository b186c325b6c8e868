"""SegFormer (NeurIPS'21): the segmentation network beside the restoration ones, registered as
`segformer` so a trained segmenter ships through the same artifact code as a restoration network:
`create_backbone("segformer", size="b0", num_classes=19)`, or with the full transformers config
(`config={...}`) when it came from a pretrained folder. GoodSAM trains it as its teacher assistant
(TA) and compact student; `inference.segment` / `segment_export` run and export it.

GoodSAM's student is SegFormer-B0 (3.7M parameters with 19 classes); its TA is a strong segmenter,
SegFormer-B5-like (the paper's Table 5 compares TA choices). The networks come from `transformers`
(`SegformerForSemanticSegmentation`, model code only: its fast image processor imports torchvision,
so `SegmentationNet` normalizes with the ImageNet mean/std itself, as that processor would).
`transformers` is imported on first use, not with this module: the registry imports every
architecture module, and restoration never needs it.

Sizes (`SEGFORMER_SIZES`):
- "b0".."b5": the published MiT-B0..B5 encoders (SegFormer paper Table 1 / NVlabs and mmseg configs,
  `nvidia/mit-b*` on the Hub) with the all-MLP decoder of width 256 (B0, B1) or 768 (B2-B5).
  With 19 classes B0 has 3,719,027 parameters and B5 84,607,955.
- "mini" (~1.6M): ours, between tiny and B0; the embedded TA that trains on 2 CPU cores.
- "tiny" (~0.46M): ours, for tests and the quick CPU student.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.core.errors import CheckpointError
from samdistill.core.labels import CLASS_NAMES, CS13_NAMES, IGNORE_INDEX
from samdistill.models.registry import register_backbone

if TYPE_CHECKING:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

# The normalization of SegFormer's image processor (timm's IMAGENET_DEFAULT_MEAN / _STD), RGB in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Shared by every MiT size: overlapping patch embeddings 7/4 then 3/2, Mix-FFN ratio 4,
# efficient-attention reduction ratios 8/4/2/1.
_MIT_COMMON = dict(patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4], sr_ratios=[8, 4, 2, 1])
_MIT_WIDE = dict(hidden_sizes=[64, 128, 320, 512], num_attention_heads=[1, 2, 5, 8])

SEGFORMER_SIZES: dict[str, dict] = {
    "tiny": dict(_MIT_COMMON, hidden_sizes=[16, 32, 64, 128], num_attention_heads=[1, 1, 2, 4],
                 depths=[1, 1, 1, 1], decoder_hidden_size=64),
    "mini": dict(_MIT_COMMON, hidden_sizes=[32, 64, 128, 192], num_attention_heads=[1, 2, 4, 6],
                 depths=[1, 1, 2, 1], decoder_hidden_size=128),
    "b0": dict(_MIT_COMMON, hidden_sizes=[32, 64, 160, 256], num_attention_heads=[1, 2, 5, 8],
               depths=[2, 2, 2, 2], decoder_hidden_size=256),
    "b1": dict(_MIT_COMMON, **_MIT_WIDE, depths=[2, 2, 2, 2], decoder_hidden_size=256),
    "b2": dict(_MIT_COMMON, **_MIT_WIDE, depths=[3, 4, 6, 3], decoder_hidden_size=768),
    "b3": dict(_MIT_COMMON, **_MIT_WIDE, depths=[3, 4, 18, 3], decoder_hidden_size=768),
    "b4": dict(_MIT_COMMON, **_MIT_WIDE, depths=[3, 8, 27, 3], decoder_hidden_size=768),
    "b5": dict(_MIT_COMMON, **_MIT_WIDE, depths=[3, 6, 40, 3], decoder_hidden_size=768),
}


def _class_names(num_classes: int) -> list[str]:
    if num_classes == len(CLASS_NAMES):
        return list(CLASS_NAMES)
    if num_classes == len(CS13_NAMES):
        return list(CS13_NAMES)
    return [f"class_{i}" for i in range(num_classes)]


def _set_classes(config: "SegformerConfig", num_classes: int) -> "SegformerConfig":
    names = _class_names(num_classes)
    config.id2label = dict(enumerate(names))
    config.label2id = {n: i for i, n in enumerate(names)}
    config.semantic_loss_ignore_index = IGNORE_INDEX
    return config


def segformer_config(size: str, num_classes: int = 19, **overrides) -> "SegformerConfig":
    """A `SegformerConfig` of a named size (see `SEGFORMER_SIZES`); `overrides` win (e.g. drop_path_rate)."""
    from transformers import SegformerConfig

    key = size.lower().replace("mit-", "").replace("segformer-", "")
    if key not in SEGFORMER_SIZES:
        raise ValueError(f"unknown SegFormer size {size!r}; known: {', '.join(SEGFORMER_SIZES)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    args = {k: list(v) if isinstance(v, list) else v for k, v in SEGFORMER_SIZES[key].items()}
    args.update(overrides)
    return _set_classes(SegformerConfig(**args), num_classes)


def build_segformer(size_or_config: Union[str, "SegformerConfig"],
                    num_classes: Optional[int] = None) -> "SegformerForSemanticSegmentation":
    """Randomly initialized `SegformerForSemanticSegmentation`.

    `num_classes` defaults to 19 for a size and to the config's own `num_labels` for a config.
    """
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    if isinstance(size_or_config, SegformerConfig):
        config = SegformerConfig.from_dict(size_or_config.to_dict())  # a copy: never edit the caller's
        if num_classes is not None and num_classes != config.num_labels:
            _set_classes(config, num_classes)
    else:
        config = segformer_config(size_or_config, 19 if num_classes is None else num_classes)
    return SegformerForSemanticSegmentation(config)


def load_segformer(local_dir: Union[str, Path],
                   num_classes: Optional[int] = None) -> "SegformerForSemanticSegmentation":
    """Load a SegFormer from a local `save_pretrained` / Hub-snapshot directory (never the network).

    `num_classes` different from the directory's: the classifier is re-created (e.g. starting from an
    ImageNet MiT encoder such as `nvidia/mit-b0`, or a 19-class model for the 13-class protocol).
    Raises `CheckpointError` naming the folder when it is missing or not a SegFormer.
    """
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    path = Path(local_dir)
    if not path.is_dir():
        raise CheckpointError(f"SegFormer directory {path} does not exist")
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"{path} has no config.json: not a transformers model directory "
                              "(save_pretrained writes one)")
    try:
        model_type = json.loads(cfg_file.read_text()).get("model_type")
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{cfg_file} is not readable JSON: {e}") from e
    if model_type != "segformer":
        raise CheckpointError(f"{path} holds a {model_type!r} model, not a SegFormer")
    kwargs = {}
    if num_classes is not None:
        config = SegformerConfig.from_pretrained(path, local_files_only=True)
        if num_classes != config.num_labels:
            kwargs = dict(config=_set_classes(config, num_classes), ignore_mismatched_sizes=True)
    try:
        return SegformerForSemanticSegmentation.from_pretrained(path, local_files_only=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"cannot load a SegFormer from {path}: {e}") from e


class SegmentationNet(nn.Module):
    """Images `(B, 3, H, W)` in [0, 1] -> class logits `(B, C, H, W)` at the input size.

    Normalizes with the ImageNet mean/std itself (buffers, not saved: the state dict is exactly the
    SegFormer's under `segformer.`). SegFormer predicts at 1/4 resolution; the logits are upsampled
    bilinearly (align_corners=False, as transformers and mmseg do), so any H, W works (odd too).
    """

    def __init__(self, segformer: "SegformerForSemanticSegmentation"):
        super().__init__()
        self.segformer = segformer
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def build(cls, size_or_config: Union[str, "SegformerConfig"], num_classes: Optional[int] = None) -> "SegmentationNet":
        return cls(build_segformer(size_or_config, num_classes))

    @classmethod
    def from_pretrained(cls, local_dir: Union[str, Path], num_classes: Optional[int] = None) -> "SegmentationNet":
        return cls(load_segformer(local_dir, num_classes))

    def save_pretrained(self, out_dir: Union[str, Path]) -> Path:
        """A plain transformers directory: `SegformerForSemanticSegmentation.from_pretrained` reads it."""
        self.segformer.save_pretrained(str(out_dir))
        return Path(out_dir)

    @property
    def num_classes(self) -> int:
        return int(self.segformer.config.num_labels)

    @property
    def hidden_sizes(self) -> list[int]:
        """Channels of the four encoder stages (what `features` returns)."""
        return list(self.segformer.config.hidden_sizes)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(x.shape)}")
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The four encoder stages' outputs `(B, C_i, H/4/2^i, W/4/2^i)` (rounded up), for feature distillation."""
        return self.segformer.segformer(self.normalize(x), output_hidden_states=True).hidden_states

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Logits and encoder features from one pass (instead of `forward` + `features`)."""
        feats = self.features(x)
        logits = self.segformer.decode_head(feats)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.segformer(pixel_values=self.normalize(x)).logits
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_backbone("segformer", task="segmentation", paper="SegFormer, NeurIPS'21 (GoodSAM's student and TA)")
def segformer(size: Optional[str] = "b0", num_classes: int = 19, config: Optional[dict[str, Any]] = None):
    """SegFormer segmenter: images in [0, 1] -> class logits at the input size (ImageNet-normalized inside)."""
    if config is not None:
        from transformers import SegformerConfig

        return SegmentationNet.build(SegformerConfig(**config), num_classes)
    return SegmentationNet.build(size, num_classes)
