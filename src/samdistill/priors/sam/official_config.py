"""Read a SamConfig (SamHQConfig) off the tensors of an official segment-anything (SAM-HQ) state dict.

Everything but the mask decoder's head count is stored in the shapes:
- width / patch size: `patch_embed.proj.weight` (C, 3, P, P); depth: highest block index + 1;
- image size: `pos_embed` (1, S/P, S/P, C);
- heads: `rel_pos_h` is (2*w - 1, head_dim), so heads = C / head_dim; blocks whose `rel_pos_h`
  spans the whole token grid (2*S/P - 1) are the global-attention blocks, the others give the
  window size;
- decoder widths, depths and token counts from their weights.
The decoder's attention heads are not in the weights; segment-anything always uses 8. A tiny or
custom checkpoint with another value needs a side-car `<checkpoint>.json` of SamConfig overrides,
e.g. `{"mask_decoder_config": {"num_attention_heads": 4}}`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from samdistill.core.errors import CheckpointError

# The three released models: (width, depth, global attention blocks); all use 16 heads except B.
OFFICIAL_VARIANTS = {
    "vit_b": (768, 12, (2, 5, 8, 11)),
    "vit_l": (1024, 24, (5, 11, 17, 23)),
    "vit_h": (1280, 32, (7, 15, 23, 31)),
}
DECODER_HEADS = 8
SUBCONFIGS = ("vision_config", "prompt_encoder_config", "mask_decoder_config")


def official_variant(hidden: int, depth: int, global_attn: Any) -> str:
    for name, (h, d, g) in OFFICIAL_VARIANTS.items():
        if (hidden, depth, tuple(global_attn)) == (h, d, g):
            return name
    return "custom"


def _indices(state: dict[str, torch.Tensor], prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for k in state if (m := pattern.match(k))})


def _get(state: dict[str, torch.Tensor], key: str, path: Path) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"{path}: not a segment-anything checkpoint: key {key!r} is missing")
    return state[key]


def _vision_config(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    proj = _get(state, "image_encoder.patch_embed.proj.weight", path)
    hidden, channels, patch = proj.shape[0], proj.shape[1], proj.shape[-1]
    blocks = _indices(state, "image_encoder.blocks.")
    if not blocks or blocks != list(range(len(blocks))):
        raise CheckpointError(f"{path}: image encoder blocks missing or not numbered 0..n-1: {blocks[:40]}")
    pos = state.get("image_encoder.pos_embed")
    grid = pos.shape[1] if pos is not None else 1024 // patch
    cfg: dict[str, Any] = dict(
        hidden_size=hidden, num_channels=channels, patch_size=patch, image_size=grid * patch,
        num_hidden_layers=len(blocks), use_abs_pos=pos is not None,
        qkv_bias="image_encoder.blocks.0.attn.qkv.bias" in state,
        mlp_dim=_get(state, "image_encoder.blocks.0.mlp.lin1.weight", path).shape[0],
        output_channels=_get(state, "image_encoder.neck.0.weight", path).shape[0],
        num_pos_feats=_get(state, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", path).shape[1],
    )
    cfg["mlp_ratio"] = cfg["mlp_dim"] / hidden
    rel = [state.get(f"image_encoder.blocks.{i}.attn.rel_pos_h") for i in blocks]
    cfg["use_rel_pos"] = all(r is not None for r in rel)
    if cfg["use_rel_pos"]:
        cfg.update(_attention_layout(rel, grid, hidden))
    else:  # no relative positions: heads and windows cannot be read; assume head_dim 64
        cfg["num_attention_heads"] = max(1, hidden // 64)
    return cfg


def _attention_layout(rel: list[torch.Tensor], grid: int, hidden: int) -> dict[str, Any]:
    head_dim = rel[0].shape[1]
    global_idx = [i for i, r in enumerate(rel) if r.shape[0] == 2 * grid - 1]
    windowed = [r.shape[0] for i, r in enumerate(rel) if i not in global_idx]
    return dict(num_attention_heads=hidden // head_dim, global_attn_indexes=global_idx,
                window_size=(windowed[0] + 1) // 2 if windowed else grid)


def _prompt_config(state: dict[str, torch.Tensor], path: Path, vision: dict[str, Any]) -> dict[str, Any]:
    return dict(
        hidden_size=_get(state, "prompt_encoder.no_mask_embed.weight", path).shape[1],
        image_size=vision["image_size"], patch_size=vision["patch_size"],
        mask_input_channels=_get(state, "prompt_encoder.mask_downscaling.3.weight", path).shape[0],
        num_point_embeddings=len(_indices(state, "prompt_encoder.point_embeddings.")),
    )


def _decoder_config(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    hidden = _get(state, "mask_decoder.iou_token.weight", path).shape[1]
    layer = "mask_decoder.transformer.layers.0."
    inner = _get(state, layer + "cross_attn_token_to_image.q_proj.weight", path).shape[0]
    return dict(
        hidden_size=hidden,
        num_hidden_layers=len(_indices(state, "mask_decoder.transformer.layers.")),
        mlp_dim=_get(state, layer + "mlp.lin1.weight", path).shape[0],
        attention_downsample_rate=hidden // inner,
        num_attention_heads=DECODER_HEADS,
        num_multimask_outputs=_get(state, "mask_decoder.mask_tokens.weight", path).shape[0] - 1,
        iou_head_depth=len(_indices(state, "mask_decoder.iou_prediction_head.layers.")),
        iou_head_hidden_dim=_get(state, "mask_decoder.iou_prediction_head.layers.0.weight", path).shape[0],
    )


def is_sam_hq(state: dict[str, torch.Tensor]) -> bool:
    """An official SAM-HQ checkpoint (sam_hq_vit_{b,l,h}.pth): its decoder has the HQ output token."""
    return "mask_decoder.hf_token.weight" in state


def config_dict_from_official(state: dict[str, torch.Tensor], path: Path,
                              overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """`SamConfig(**result)` kwargs for the architecture stored in `state` (`SamHQConfig` kwargs for a
    SAM-HQ checkpoint: the decoder also gets `vit_dim`, the width of the ViT features it fuses)."""
    vision = _vision_config(state, path)
    cfg = {"vision_config": vision, "prompt_encoder_config": _prompt_config(state, path, vision),
           "mask_decoder_config": _decoder_config(state, path)}
    if is_sam_hq(state):  # ConvTranspose2d weight: (in = ViT width, out, 2, 2)
        cfg["mask_decoder_config"]["vit_dim"] = _get(state, "mask_decoder.compress_vit_feat.0.weight", path).shape[0]
    for key, sub in (overrides or {}).items():
        if key not in SUBCONFIGS or not isinstance(sub, dict):
            raise CheckpointError(f"{path.with_suffix('.json')}: unknown override {key!r} "
                                  f"(expected objects under {', '.join(SUBCONFIGS)})")
        cfg[key].update(sub)
    return cfg
