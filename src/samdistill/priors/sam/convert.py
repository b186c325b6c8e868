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

from samdistill.core.errors import CheckpointError

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


def _compile(template: str, fields: dict[str, str]) -> re.Pattern:
    parts = re.split(r"(\{\w\})", template)
    out = []
    for part in parts:
        if re.fullmatch(r"\{\w\}", part):
            name = part[1]
            out.append(f"(?P<{name}>{fields[name]})")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


Rules = tuple[tuple[re.Pattern, str], ...]


def compile_table(table: tuple[tuple[str, str], ...], reverse: bool, fields: dict[str, str] | None = None) -> Rules:
    """(pattern, target template) rules of a key table, official -> HF (or HF -> official when `reverse`).
    `fields`: what each `{x}` placeholder matches (default: SAM's, see `_FIELDS`)."""
    fields = _FIELDS if fields is None else fields
    pairs = ((hf, off) if reverse else (off, hf) for off, hf in table)
    return tuple((_compile(src, fields), dst) for src, dst in pairs)


@lru_cache(maxsize=2)
def _rules(reverse: bool) -> Rules:
    return compile_table(KEY_TABLE, reverse)


def _convert_key(key: str, rules: Rules) -> str | None:
    for pattern, target in rules:
        m = pattern.match(key)
        if m:
            return target.format(**m.groupdict())
    return None


def rename_keys(state: dict[str, torch.Tensor], rules: Rules, skip, source: str,
                direction: str) -> dict[str, torch.Tensor]:
    """Rename every key by `rules` (skipping keys in `skip`, or matching it when it is a callable);
    unknown keys are one error naming the file and keys."""
    skipped = skip if callable(skip) else (lambda key: key in skip)
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        if skipped(key):
            continue
        new = _convert_key(key, rules)
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
    out = rename_keys(state, _rules(False), IGNORED_OFFICIAL_KEYS, source,
                      "from segment-anything to transformers naming")
    if HF_PROMPT_PE in out:
        out[HF_SHARED_PE] = out[HF_PROMPT_PE]
    return out


def hf_to_official(state: dict[str, torch.Tensor], source: str = "state dict") -> dict[str, torch.Tensor]:
    """Inverse of `official_to_hf` (drops HF's tied duplicate of the positional matrix)."""
    return rename_keys(state, _rules(True), {HF_SHARED_PE}, source, "from transformers to segment-anything naming")
