"""Official SAM 2 / 2.1 checkpoints (`sam2_hiera_*.pt`, `sam2.1_hiera_*.pt`) -> transformers' `Sam2Model`.

The release files are `torch.save({"model": state_dict})` of sam2's `SAM2Base` (image encoder
`image_encoder.trunk` (Hiera) + `image_encoder.neck` (FPN), `sam_prompt_encoder`, `sam_mask_decoder`,
`no_mem_embed`, plus the video modules: memory attention / encoder, object pointers, ...). They are
read with `torch.load(weights_only=True)` (never unpickled), the video modules' tensors are dropped,
and the image model's keys are renamed as transformers' own SAM 2 conversion does:
- Hiera: `image_encoder.trunk.X` -> `vision_encoder.backbone.X`, `patch_embed.proj` -> `.projection`,
  `normN` -> `layer_normN`, the 2-layer MLPs `mlp.layers.{0,1}` -> `mlp.proj_in` / `mlp.proj_out`;
- FPN neck: `image_encoder.neck.convs.i.conv.*` -> `vision_encoder.neck.convs.i.*`;
- prompt encoder as SAM's, except that the four point embeddings (`point_embeddings.{0..3}.weight`,
  each (1, C)) become rows of one `prompt_encoder.point_embed.weight` (4, C);
- mask decoder as SAM's plus `conv_s0` / `conv_s1` (high-resolution features), `obj_score_token`,
  `pred_obj_score_head` (3-layer MLP); attention `out_proj` -> `o_proj`; the two-way transformer's
  2-layer MLP `mlp.layers.{0,1}` -> `mlp.proj_in` / `mlp.proj_out`;
- `no_mem_embed` -> `no_memory_embedding`; the prompt encoder's random-Fourier matrix is also
  `shared_image_embedding.positional_embedding`.

Architecture (`Sam2Config`) from the tensors: Hiera width, blocks per stage (a block with a `proj`
starts a stage), widths per stage, MLP ratio, the positional-embedding background and first window
size, the neck's channels, the prompt encoder's and mask decoder's widths, depths and token counts.
What the tensors do not hold (attention heads per stage, window sizes of stages 2-4, which blocks
attend globally) comes from the released configs (sam2/configs/sam2{,.1}/*.yaml, identical for the
image encoder in 2.0 and 2.1), keyed by (width, blocks per stage); any other architecture needs a
side-car `<checkpoint>.json` of Sam2Config overrides giving them.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from samdistill.core.errors import CheckpointError
from samdistill.priors.sam.convert import compile_table, rename_keys
from samdistill.priors.sam.official_config import _indices

IMAGE_SIZE = 1024  # `image_size: 1024` in every released config
BACKBONE_STRIDE = 16  # SAM2Base's backbone_stride: the prompt encoder's embedding grid is image_size / 16
DECODER_HEADS = 8  # SAM2Base builds its TwoWayTransformer with num_heads=8

# The released Hiera image encoders (sam2/configs/sam2{,.1}/sam2{,.1}_hiera_{t,s,b+,l}.yaml; b+ uses
# Hiera's defaults): (width, blocks per stage) -> initial heads (doubled at each stage), window size per
# stage, global-attention blocks.
RELEASED_HIERA: dict[tuple[int, tuple[int, ...]], tuple[str, int, tuple[int, ...], tuple[int, ...]]] = {
    (96, (1, 2, 7, 2)): ("hiera_t", 1, (8, 4, 14, 7), (5, 7, 9)),
    (96, (1, 2, 11, 2)): ("hiera_s", 1, (8, 4, 14, 7), (7, 10, 13)),
    (112, (2, 3, 16, 3)): ("hiera_b+", 2, (8, 4, 14, 7), (12, 16, 20)),
    (144, (2, 6, 36, 4)): ("hiera_l", 2, (8, 4, 16, 8), (23, 33, 43)),
}
CUSTOM_KEYS = ("num_attention_heads_per_stage", "window_size_per_stage", "global_attention_blocks")
SUBCONFIGS = ("vision_config", "prompt_encoder_config", "mask_decoder_config")

_T = "image_encoder.trunk."
_B = "vision_encoder.backbone."
_D = "sam_mask_decoder."
# (official template, HF template); `{i}`, `{n}` integers, `{p}` weight|bias, `{a}` an attention of the
# two-way transformer, `{q}` q|k|v.
KEY_TABLE: tuple[tuple[str, str], ...] = (
    # Hiera trunk
    (_T + "pos_embed", _B + "pos_embed"),
    (_T + "pos_embed_window", _B + "pos_embed_window"),
    (_T + "patch_embed.proj.{p}", _B + "patch_embed.projection.{p}"),
    (_T + "blocks.{i}.norm{n}.{p}", _B + "blocks.{i}.layer_norm{n}.{p}"),
    (_T + "blocks.{i}.attn.qkv.{p}", _B + "blocks.{i}.attn.qkv.{p}"),
    (_T + "blocks.{i}.attn.proj.{p}", _B + "blocks.{i}.attn.proj.{p}"),
    (_T + "blocks.{i}.proj.{p}", _B + "blocks.{i}.proj.{p}"),
    (_T + "blocks.{i}.mlp.layers.0.{p}", _B + "blocks.{i}.mlp.proj_in.{p}"),
    (_T + "blocks.{i}.mlp.layers.1.{p}", _B + "blocks.{i}.mlp.proj_out.{p}"),
    # FPN neck
    ("image_encoder.neck.convs.{i}.conv.{p}", "vision_encoder.neck.convs.{i}.{p}"),
    # prompt encoder (the point embeddings are merged separately)
    ("sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
     "prompt_encoder.shared_embedding.positional_embedding"),
    ("sam_prompt_encoder.not_a_point_embed.{p}", "prompt_encoder.not_a_point_embed.{p}"),
    ("sam_prompt_encoder.no_mask_embed.{p}", "prompt_encoder.no_mask_embed.{p}"),
    ("sam_prompt_encoder.mask_downscaling.0.{p}", "prompt_encoder.mask_embed.conv1.{p}"),
    ("sam_prompt_encoder.mask_downscaling.1.{p}", "prompt_encoder.mask_embed.layer_norm1.{p}"),
    ("sam_prompt_encoder.mask_downscaling.3.{p}", "prompt_encoder.mask_embed.conv2.{p}"),
    ("sam_prompt_encoder.mask_downscaling.4.{p}", "prompt_encoder.mask_embed.layer_norm2.{p}"),
    ("sam_prompt_encoder.mask_downscaling.6.{p}", "prompt_encoder.mask_embed.conv3.{p}"),
    # mask decoder
    (_D + "iou_token.{p}", "mask_decoder.iou_token.{p}"),
    (_D + "mask_tokens.{p}", "mask_decoder.mask_tokens.{p}"),
    (_D + "obj_score_token.{p}", "mask_decoder.obj_score_token.{p}"),
    (_D + "transformer.layers.{i}.{a}.{q}_proj.{p}", "mask_decoder.transformer.layers.{i}.{a}.{q}_proj.{p}"),
    (_D + "transformer.layers.{i}.{a}.out_proj.{p}", "mask_decoder.transformer.layers.{i}.{a}.o_proj.{p}"),
    (_D + "transformer.layers.{i}.norm{n}.{p}", "mask_decoder.transformer.layers.{i}.layer_norm{n}.{p}"),
    (_D + "transformer.layers.{i}.mlp.layers.0.{p}", "mask_decoder.transformer.layers.{i}.mlp.proj_in.{p}"),
    (_D + "transformer.layers.{i}.mlp.layers.1.{p}", "mask_decoder.transformer.layers.{i}.mlp.proj_out.{p}"),
    (_D + "transformer.final_attn_token_to_image.{q}_proj.{p}",
     "mask_decoder.transformer.final_attn_token_to_image.{q}_proj.{p}"),
    (_D + "transformer.final_attn_token_to_image.out_proj.{p}",
     "mask_decoder.transformer.final_attn_token_to_image.o_proj.{p}"),
    (_D + "transformer.norm_final_attn.{p}", "mask_decoder.transformer.layer_norm_final_attn.{p}"),
    (_D + "output_upscaling.0.{p}", "mask_decoder.upscale_conv1.{p}"),
    (_D + "output_upscaling.1.{p}", "mask_decoder.upscale_layer_norm.{p}"),
    (_D + "output_upscaling.3.{p}", "mask_decoder.upscale_conv2.{p}"),
    (_D + "conv_s0.{p}", "mask_decoder.conv_s0.{p}"),
    (_D + "conv_s1.{p}", "mask_decoder.conv_s1.{p}"),
    *((_D + f"{mlp}.layers.0.{{p}}", f"mask_decoder.{mlp}.proj_in.{{p}}") for mlp in
      ("output_hypernetworks_mlps.{i}", "iou_prediction_head", "pred_obj_score_head")),
    *((_D + f"{mlp}.layers.1.{{p}}", f"mask_decoder.{mlp}.layers.0.{{p}}") for mlp in
      ("output_hypernetworks_mlps.{i}", "iou_prediction_head", "pred_obj_score_head")),
    *((_D + f"{mlp}.layers.2.{{p}}", f"mask_decoder.{mlp}.proj_out.{{p}}") for mlp in
      ("output_hypernetworks_mlps.{i}", "iou_prediction_head", "pred_obj_score_head")),
    ("no_mem_embed", "no_memory_embedding"),
)
_FIELDS = {"i": r"\d+", "n": r"\d+", "p": r"weight|bias",
           "a": r"self_attn|cross_attn_token_to_image|cross_attn_image_to_token", "q": r"q|k|v"}

# SAM2Base's video-only modules: not part of the image model, dropped on load.
VIDEO_PREFIXES = ("memory_attention.", "memory_encoder.", "obj_ptr_proj.", "obj_ptr_tpos_proj.", "mask_downsample.")
VIDEO_KEYS = frozenset({"maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed_spatial"})
POINT_EMBED = "sam_prompt_encoder.point_embeddings."
HF_POINT_EMBED = "prompt_encoder.point_embed.weight"
HF_PROMPT_PE = "prompt_encoder.shared_embedding.positional_embedding"
HF_SHARED_PE = "shared_image_embedding.positional_embedding"
REQUIRED = (_T + "patch_embed.proj.weight", _D + "iou_token.weight")


@lru_cache(maxsize=2)
def _rules(reverse: bool):
    return compile_table(KEY_TABLE, reverse, _FIELDS)


def is_video_key(key: str) -> bool:
    return key in VIDEO_KEYS or key.startswith(VIDEO_PREFIXES)


def check_is_sam2(state: dict[str, torch.Tensor], path: Path) -> None:
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        hint = (" (it looks like a SAM / SAM-HQ checkpoint: use priors.backend=sam)"
                if "image_encoder.patch_embed.proj.weight" in state else "")
        raise CheckpointError(f"{path}: not a SAM 2 checkpoint: key(s) {missing} missing{hint}")


def official_to_hf(state: dict[str, torch.Tensor], source: str = "state dict") -> dict[str, torch.Tensor]:
    """Rename an official SAM 2 / 2.1 state dict (its video modules dropped) for transformers' `Sam2Model`."""
    points = sorted(_indices(state, POINT_EMBED))
    out = rename_keys(state, _rules(False), lambda k: is_video_key(k) or k.startswith(POINT_EMBED), source,
                      "from sam2 to transformers naming")
    if points:
        if points != list(range(len(points))) or any(f"{POINT_EMBED}{i}.weight" not in state for i in points):
            raise CheckpointError(f"{source}: point embeddings not numbered 0..n-1 with weights: {points}")
        out[HF_POINT_EMBED] = torch.cat([state[f"{POINT_EMBED}{i}.weight"] for i in points], dim=0)
    if HF_PROMPT_PE in out:
        out[HF_SHARED_PE] = out[HF_PROMPT_PE]
    return out


# ---------------------------------------------------------------- architecture from the tensors

def _get(state: dict[str, torch.Tensor], key: str, path: Path) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"{path}: not a SAM 2 checkpoint: key {key!r} is missing")
    return state[key]


def _backbone_config(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    width, _, kernel, _ = _get(state, _T + "patch_embed.proj.weight", path).shape
    blocks = _indices(state, _T + "blocks.")
    if not blocks or blocks != list(range(len(blocks))):
        raise CheckpointError(f"{path}: Hiera blocks missing or not numbered 0..n-1: {blocks[:60]}")
    starts = [0] + [i for i in blocks if f"{_T}blocks.{i}.proj.weight" in state]  # a width change starts a stage
    per_stage = [b - a for a, b in zip(starts, starts[1:] + [len(blocks)])]
    dims = [_get(state, f"{_T}blocks.{s}.mlp.layers.0.weight", path).shape[1] for s in starts]
    hidden = _get(state, _T + "blocks.0.mlp.layers.0.weight", path).shape[0]
    bkg = list(_get(state, _T + "pos_embed", path).shape[-2:])
    first_window = int(_get(state, _T + "pos_embed_window", path).shape[-1])
    return dict(model_type="sam2_hiera_det_model", hidden_size=int(width), blocks_per_stage=per_stage, embed_dim_per_stage=[int(d) for d in dims],
                mlp_ratio=hidden / width, patch_kernel_size=[int(kernel), int(kernel)],
                window_positional_embedding_background_size=[int(b) for b in bkg],
                num_query_pool_stages=len(per_stage) - 1, _first_window=first_window)


def _released(backbone: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    key = (backbone["hidden_size"], tuple(backbone["blocks_per_stage"]))
    if key not in RELEASED_HIERA:
        return None
    name, heads, windows, global_blocks = RELEASED_HIERA[key]
    stages = len(windows)
    return name, dict(num_attention_heads=heads, num_attention_heads_per_stage=[heads * 2 ** s for s in range(stages)],
                      window_size_per_stage=list(windows), global_attention_blocks=list(global_blocks))


def _decoder_config(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    hidden = _get(state, _D + "iou_token.weight", path).shape[1]
    layer = _D + "transformer.layers.0."
    inner = _get(state, layer + "cross_attn_token_to_image.q_proj.weight", path).shape[0]
    return dict(
        hidden_size=int(hidden),
        num_hidden_layers=len(_indices(state, _D + "transformer.layers.")),
        mlp_dim=int(_get(state, layer + "mlp.layers.0.weight", path).shape[0]),
        attention_downsample_rate=int(hidden // inner),
        num_attention_heads=DECODER_HEADS,
        num_multimask_outputs=int(_get(state, _D + "mask_tokens.weight", path).shape[0]) - 1,
        iou_head_depth=len(_indices(state, _D + "iou_prediction_head.layers.")),
        iou_head_hidden_dim=int(_get(state, _D + "iou_prediction_head.layers.0.weight", path).shape[0]),
    )


def config_dict_from_official(state: dict[str, torch.Tensor], path: Path,
                              overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """(`Sam2Config(**result)` kwargs, variant name or "custom") for the image model stored in `state`.

    `overrides` (the side-car `<checkpoint>.json`): Sam2Config sub-config objects merged over what the
    tensors say (`vision_config.backbone_config` for the Hiera fields), plus an optional top-level
    `image_size` (default 1024)."""
    check_is_sam2(state, path)
    overrides = dict(overrides or {})
    image_size = overrides.pop("image_size", IMAGE_SIZE)
    for key, sub in overrides.items():
        if key not in SUBCONFIGS or not isinstance(sub, dict):
            raise CheckpointError(f"{path.with_suffix('.json')}: unknown override {key!r} (expected image_size or "
                                  f"objects under {', '.join(SUBCONFIGS)})")
    if not isinstance(image_size, int) or image_size % (4 * 2 ** 3) != 0:
        raise CheckpointError(f"{path.with_suffix('.json')}: image_size must be an integer multiple of 32, "
                              f"got {image_size!r}")
    backbone = _backbone_config(state, path)
    first_window = backbone.pop("_first_window")
    released = _released(backbone)
    variant = "custom"
    if released is not None:
        variant, fields = released
        backbone.update(fields)
    vision_over = dict(overrides.get("vision_config") or {})
    backbone.update(vision_over.pop("backbone_config", None) or {})
    missing = [k for k in CUSTOM_KEYS if k not in backbone]
    if missing:
        raise CheckpointError(
            f"{path}: Hiera width {backbone['hidden_size']} with blocks per stage {backbone['blocks_per_stage']} is "
            "not a released SAM 2 / 2.1 image encoder (tiny, small, base+, large), and the weights do not hold "
            f"{', '.join(missing)}: give them in {path.with_suffix('.json')} as "
            '{"vision_config": {"backbone_config": {...}}}')
    if backbone["window_size_per_stage"][0] != first_window:
        raise CheckpointError(f"{path}: pos_embed_window is {first_window}x{first_window} but the first stage's "
                              f"window is {backbone['window_size_per_stage'][0]}")
    backbone["image_size"] = [image_size, image_size]
    neck = sorted(_indices(state, "image_encoder.neck.convs."))
    channels = [int(_get(state, f"image_encoder.neck.convs.{i}.conv.weight", path).shape[1]) for i in neck]
    if channels != list(reversed(backbone["embed_dim_per_stage"])):
        raise CheckpointError(f"{path}: the FPN neck reads channels {channels}, the Hiera stages give "
                              f"{backbone['embed_dim_per_stage']}")
    if _D + "conv_s0.weight" not in state:
        raise CheckpointError(f"{path}: no high-resolution feature convs (sam_mask_decoder.conv_s0): only SAM 2 "
                              "models with use_high_res_features_in_sam (every released one) are supported")
    fpn = int(_get(state, "image_encoder.neck.convs.0.conv.weight", path).shape[0])
    stride = 4  # Hiera's patch embedding stride; each later stage halves the grid
    vision = dict(backbone_config=backbone, backbone_channel_list=channels, fpn_hidden_size=fpn,
                  backbone_feature_sizes=[[image_size // (stride * 2 ** k)] * 2 for k in range(3)])
    vision.update(vision_over)
    prompt = dict(hidden_size=int(_get(state, "sam_prompt_encoder.no_mask_embed.weight", path).shape[1]),
                  image_size=image_size, patch_size=BACKBONE_STRIDE,
                  mask_input_channels=int(_get(state, "sam_prompt_encoder.mask_downscaling.3.weight", path).shape[0]),
                  num_point_embeddings=len(_indices(state, POINT_EMBED)))
    prompt.update(overrides.get("prompt_encoder_config") or {})
    decoder = _decoder_config(state, path)
    decoder.update(overrides.get("mask_decoder_config") or {})
    return {"vision_config": vision, "prompt_encoder_config": prompt, "mask_decoder_config": decoder}, variant
