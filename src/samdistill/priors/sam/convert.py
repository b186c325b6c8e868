"""Official segment-anything (and SAM-HQ) state-dict keys <-> Hugging Face `SamModel` (`SamHQModel`) keys.

The mapping is the one transformers' own `convert_sam_to_hf` performs, written as a table of
key templates so it can run both ways: `{i}`, `{n}` match integers, `{p}` a parameter name
(weight / bias). `official_to_hf` is what loading uses; `hf_to_official` exists so tests can
write checkpoints in the official layout from a tiny random HF model.
"""
from __future__ import annotations

import re
from functools import lru_cache

import torch

from samdistill.engine.artifact import CheckpointError

# (official template, HF template). Order does not matter: every key matches at most one row.
KEY_TABLE: tuple[tuple[str, str], ...] = (
    # image encoder (ImageEncoderViT -> SamVisionEncoder)
    ("image_encoder.pos_embed", "vision_encoder.pos_embed"),
    ("image_encoder.patch_embed.proj.{p}", "vision_encoder.patch_embed.projection.{p}"),
    ("image_encoder.blocks.{i}.norm{n}.{p}", "vision_encoder.layers.{i}.layer_norm{n}.{p}"),
    ("image_encoder.blocks.{i}.attn.qkv.{p}", "vision_encoder.layers.{i}.attn.qkv.{p}"),
    ("image_encoder.blocks.{i}.attn.proj.{p}", "vision_encoder.layers.{i}.attn.proj.{p}"),
    ("image_encoder.blocks.{i}.attn.rel_pos_h", "vision_encoder.layers.{i}.attn.rel_pos_h"),
    ("image_encoder.blocks.{i}.attn.rel_pos_w", "vision_encoder.layers.{i}.attn.rel_pos_w"),
    ("image_encoder.blocks.{i}.mlp.lin{n}.{p}", "vision_encoder.layers.{i}.mlp.lin{n}.{p}"),
    ("image_encoder.neck.0.{p}", "vision_encoder.neck.conv1.{p}"),
    ("image_encoder.neck.1.{p}", "vision_encoder.neck.layer_norm1.{p}"),
    ("image_encoder.neck.2.{p}", "vision_encoder.neck.conv2.{p}"),
    ("image_encoder.neck.3.{p}", "vision_encoder.neck.layer_norm2.{p}"),
    # prompt encoder; the random-Fourier matrix is shared with the image-wide positional encoding
    ("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
     "prompt_encoder.shared_embedding.positional_embedding"),
    ("prompt_encoder.point_embeddings.{i}.{p}", "prompt_encoder.point_embed.{i}.{p}"),
    ("prompt_encoder.not_a_point_embed.{p}", "prompt_encoder.not_a_point_embed.{p}"),
    ("prompt_encoder.no_mask_embed.{p}", "prompt_encoder.no_mask_embed.{p}"),
    ("prompt_encoder.mask_downscaling.0.{p}", "prompt_encoder.mask_embed.conv1.{p}"),
    ("prompt_encoder.mask_downscaling.1.{p}", "prompt_encoder.mask_embed.layer_norm1.{p}"),
    ("prompt_encoder.mask_downscaling.3.{p}", "prompt_encoder.mask_embed.conv2.{p}"),
    ("prompt_encoder.mask_downscaling.4.{p}", "prompt_encoder.mask_embed.layer_norm2.{p}"),
    ("prompt_encoder.mask_downscaling.6.{p}", "prompt_encoder.mask_embed.conv3.{p}"),
    # mask decoder
    ("mask_decoder.iou_token.{p}", "mask_decoder.iou_token.{p}"),
    ("mask_decoder.mask_tokens.{p}", "mask_decoder.mask_tokens.{p}"),
    ("mask_decoder.transformer.layers.{i}.{a}.{q}_proj.{p}",
     "mask_decoder.transformer.layers.{i}.{a}.{q}_proj.{p}"),
    ("mask_decoder.transformer.layers.{i}.norm{n}.{p}", "mask_decoder.transformer.layers.{i}.layer_norm{n}.{p}"),
    ("mask_decoder.transformer.layers.{i}.mlp.lin{n}.{p}", "mask_decoder.transformer.layers.{i}.mlp.lin{n}.{p}"),
    ("mask_decoder.transformer.final_attn_token_to_image.{q}_proj.{p}",
     "mask_decoder.transformer.final_attn_token_to_image.{q}_proj.{p}"),
    ("mask_decoder.transformer.norm_final_attn.{p}", "mask_decoder.transformer.layer_norm_final_attn.{p}"),
    ("mask_decoder.output_upscaling.0.{p}", "mask_decoder.upscale_conv1.{p}"),
    ("mask_decoder.output_upscaling.1.{p}", "mask_decoder.upscale_layer_norm.{p}"),
    ("mask_decoder.output_upscaling.3.{p}", "mask_decoder.upscale_conv2.{p}"),
    # 3-layer MLPs (SAM's MLP(num_layers=3) -> HF's proj_in / layers.0 / proj_out)
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.0.{p}",
     "mask_decoder.output_hypernetworks_mlps.{i}.proj_in.{p}"),
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.1.{p}",
     "mask_decoder.output_hypernetworks_mlps.{i}.layers.0.{p}"),
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.2.{p}",
     "mask_decoder.output_hypernetworks_mlps.{i}.proj_out.{p}"),
    ("mask_decoder.iou_prediction_head.layers.0.{p}", "mask_decoder.iou_prediction_head.proj_in.{p}"),
    ("mask_decoder.iou_prediction_head.layers.1.{p}", "mask_decoder.iou_prediction_head.layers.0.{p}"),
    ("mask_decoder.iou_prediction_head.layers.2.{p}", "mask_decoder.iou_prediction_head.proj_out.{p}"),
    # SAM-HQ's additions to the mask decoder (sam-hq's MaskDecoderHQ -> transformers' SamHQMaskDecoder);
    # only HQ checkpoints have these keys
    ("mask_decoder.hf_token.{p}", "mask_decoder.hq_token.{p}"),
    ("mask_decoder.hf_mlp.layers.0.{p}", "mask_decoder.hq_mask_mlp.proj_in.{p}"),
    ("mask_decoder.hf_mlp.layers.1.{p}", "mask_decoder.hq_mask_mlp.layers.0.{p}"),
    ("mask_decoder.hf_mlp.layers.2.{p}", "mask_decoder.hq_mask_mlp.proj_out.{p}"),
    ("mask_decoder.compress_vit_feat.0.{p}", "mask_decoder.compress_vit_conv1.{p}"),
    ("mask_decoder.compress_vit_feat.1.{p}", "mask_decoder.compress_vit_norm.{p}"),
    ("mask_decoder.compress_vit_feat.3.{p}", "mask_decoder.compress_vit_conv2.{p}"),
    ("mask_decoder.embedding_encoder.0.{p}", "mask_decoder.encoder_conv1.{p}"),
    ("mask_decoder.embedding_encoder.1.{p}", "mask_decoder.encoder_norm.{p}"),
    ("mask_decoder.embedding_encoder.3.{p}", "mask_decoder.encoder_conv2.{p}"),
    ("mask_decoder.embedding_maskfeature.0.{p}", "mask_decoder.mask_conv1.{p}"),
    ("mask_decoder.embedding_maskfeature.1.{p}", "mask_decoder.mask_norm.{p}"),
    ("mask_decoder.embedding_maskfeature.3.{p}", "mask_decoder.mask_conv2.{p}"),
)

# Normalization constants the official Sam registers as buffers; some exported files carry them.
IGNORED_OFFICIAL_KEYS = frozenset({"pixel_mean", "pixel_std"})
# HF duplicate of the prompt encoder's Fourier matrix (tied weights).
HF_SHARED_PE = "shared_image_embedding.positional_embedding"
HF_PROMPT_PE = "prompt_encoder.shared_embedding.positional_embedding"

_FIELDS = {
    "i": r"\d+",
    "n": r"\d+",
    "p": r"weight|bias",
    "a": r"self_attn|cross_attn_token_to_image|cross_attn_image_to_token",
    "q": r"q|k|v|out",
}


class KeyConversionError(CheckpointError):
    """State-dict keys with no counterpart; the message lists them."""

    def __init__(self, source: str, keys: list[str], direction: str):
        self.keys = keys
        shown = ", ".join(keys[:20]) + (f" ... (+{len(keys) - 20} more)" if len(keys) > 20 else "")
        super().__init__(f"{source}: {len(keys)} key(s) cannot be converted {direction}: {shown}")


def _compile(template: str) -> re.Pattern:
    parts = re.split(r"(\{\w\})", template)
    out = []
    for part in parts:
        if re.fullmatch(r"\{\w\}", part):
            name = part[1]
            out.append(f"(?P<{name}>{_FIELDS[name]})")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


@lru_cache(maxsize=2)
def _rules(reverse: bool) -> tuple[tuple[re.Pattern, str], ...]:
    pairs = ((hf, off) if reverse else (off, hf) for off, hf in KEY_TABLE)
    return tuple((_compile(src), dst) for src, dst in pairs)


def _convert_key(key: str, reverse: bool) -> str | None:
    for pattern, target in _rules(reverse):
        m = pattern.match(key)
        if m:
            return target.format(**m.groupdict())
    return None


def _rename(state: dict[str, torch.Tensor], skip: set[str], reverse: bool, source: str,
            direction: str) -> dict[str, torch.Tensor]:
    """Rename every key (skipping `skip`); unknown keys are one error naming the file and keys."""
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        if key in skip:
            continue
        new = _convert_key(key, reverse=reverse)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise KeyConversionError(source, sorted(unknown), direction)
    return out


def official_to_hf(state: dict[str, torch.Tensor], source: str = "state dict") -> dict[str, torch.Tensor]:
    """Rename an official segment-anything (or SAM-HQ) state dict for transformers' `SamModel`
    (`SamHQModel`)."""
    out = _rename(state, set(IGNORED_OFFICIAL_KEYS), False, source, "from segment-anything to transformers naming")
    if HF_PROMPT_PE in out:
        out[HF_SHARED_PE] = out[HF_PROMPT_PE]
    return out


def hf_to_official(state: dict[str, torch.Tensor], source: str = "state dict") -> dict[str, torch.Tensor]:
    """Inverse of `official_to_hf` (drops HF's tied duplicate of the positional matrix)."""
    return _rename(state, {HF_SHARED_PE}, True, source, "from transformers to segment-anything naming")
