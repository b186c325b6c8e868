"""A tiny random SAM 2 (transformers `Sam2Model`) for the SAM 2 backend tests."""
from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from tiny_sam import scale_weights  # noqa: E402 (this directory; needs transformers only through the model)

IMAGE_SIZE = 128  # Hiera stride 4 -> 32x32, 16x16, 8x8 feature levels; decoder logits 32x32


def tiny_sam2_config() -> "transformers.Sam2Config":
    backbone = dict(model_type="sam2_hiera_det_model", hidden_size=16, num_attention_heads=1,
                    image_size=[IMAGE_SIZE, IMAGE_SIZE], blocks_per_stage=[1, 1, 2, 1],
                    embed_dim_per_stage=[16, 32, 64, 128], num_attention_heads_per_stage=[1, 1, 2, 2],
                    window_size_per_stage=[4, 4, 4, 2], global_attention_blocks=[3],
                    window_positional_embedding_background_size=[4, 4])
    grid = IMAGE_SIZE // 4
    return transformers.Sam2Config(
        vision_config=dict(backbone_config=backbone, backbone_channel_list=[128, 64, 32, 16],
                           backbone_feature_sizes=[[grid, grid], [grid // 2, grid // 2], [grid // 4, grid // 4]],
                           fpn_hidden_size=32),
        prompt_encoder_config=dict(hidden_size=32, image_size=IMAGE_SIZE, patch_size=16),
        mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=4, iou_head_hidden_dim=32),
    )


def tiny_sam2_model(seed: int = 0) -> torch.nn.Module:
    """Random weights scaled so the decoder's logits vary (HF's init makes them ~0)."""
    model = transformers.Sam2Model(tiny_sam2_config()).eval()
    gen = torch.Generator().manual_seed(seed)
    scale_weights(model, gen)
    with torch.no_grad():
        # one random-Fourier matrix, as in the released weights (the loader keeps the prompt encoder's)
        pe = torch.randn(model.prompt_encoder.shared_embedding.positional_embedding.shape, generator=gen)
        model.prompt_encoder.shared_embedding.positional_embedding.copy_(pe)
        model.shared_image_embedding.positional_embedding.copy_(pe)
    return model


# sam2's SAM2Base modules that only the video predictor uses: present in every release file, ignored
# by an image model. One tensor of each (shapes are irrelevant to the loader).
VIDEO_TENSORS = ("memory_attention.layers.0.self_attn.q_proj.weight", "memory_attention.norm.weight",
                 "memory_encoder.out_proj.weight", "memory_encoder.fuser.layers.0.dwconv.weight", "maskmem_tpos_enc",
                 "no_mem_pos_enc", "no_obj_ptr", "obj_ptr_proj.layers.0.weight", "obj_ptr_tpos_proj.weight",
                 "mask_downsample.weight", "no_obj_embed_spatial")


def _official_name(key: str) -> str:
    """One HF Sam2Model key in sam2's own module layout, written from sam2's modules (Hiera, FpnNeck,
    PromptEncoder, MaskDecoder, TwoWayTransformer, MLP) rather than from the loader's table."""
    parts = key.split(".")
    if parts[0] == "vision_encoder" and parts[1] == "backbone":
        parts = ["image_encoder", "trunk"] + parts[2:]
        if parts[2] == "patch_embed":
            parts[3] = "proj"  # PatchEmbed.proj (Conv2d)
        if parts[2] == "blocks":
            if parts[4].startswith("layer_norm"):
                parts[4] = "norm" + parts[4][len("layer_norm"):]
            if parts[4] == "mlp":  # MLP(num_layers=2).layers: ModuleList of two Linear
                parts[5:6] = ["layers", {"proj_in": "0", "proj_out": "1"}[parts[5]]]
    elif parts[0] == "vision_encoder" and parts[1] == "neck":
        parts = ["image_encoder", "neck", "convs", parts[3], "conv", parts[4]]  # Sequential(conv=Conv2d)
    elif parts[0] == "prompt_encoder":
        parts[0] = "sam_prompt_encoder"
        if parts[1] == "shared_embedding":
            parts = ["sam_prompt_encoder", "pe_layer", "positional_encoding_gaussian_matrix"]
        elif parts[1] == "mask_embed":  # Sequential(conv, LayerNorm2d, act, conv, LayerNorm2d, act, conv)
            index = {"conv1": "0", "layer_norm1": "1", "conv2": "3", "layer_norm2": "4", "conv3": "6"}[parts[2]]
            parts = ["sam_prompt_encoder", "mask_downscaling", index, parts[3]]
    elif parts[0] == "mask_decoder":
        parts[0] = "sam_mask_decoder"
        if parts[1] in ("upscale_conv1", "upscale_layer_norm", "upscale_conv2"):
            index = {"upscale_conv1": "0", "upscale_layer_norm": "1", "upscale_conv2": "3"}[parts[1]]
            parts = ["sam_mask_decoder", "output_upscaling", index, parts[2]]
        if parts[1] in ("output_hypernetworks_mlps", "iou_prediction_head", "pred_obj_score_head"):
            at = 3 if parts[1] == "output_hypernetworks_mlps" else 2  # MLP(num_layers=3).layers.{0,1,2}
            if parts[at] == "layers":  # HF's middle layer: layers.0
                parts[at:at + 2] = ["layers", "1"]
            else:
                parts[at:at + 1] = ["layers", {"proj_in": "0", "proj_out": "2"}[parts[at]]]
        if parts[1] == "transformer":
            parts = [p.replace("layer_norm_final_attn", "norm_final_attn") for p in parts]
            parts = ["norm" + p[len("layer_norm"):] if p.startswith("layer_norm") and p != "layer_norm_final_attn"
                     else p for p in parts]
            parts = ["out_proj" if p == "o_proj" else p for p in parts]
            if "mlp" in parts:
                at = parts.index("mlp") + 1
                parts[at:at + 1] = ["layers", {"proj_in": "0", "proj_out": "1"}[parts[at]]]
    elif key == "no_memory_embedding":
        parts = ["no_mem_embed"]
    return ".".join(parts)


def official_sam2_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A Sam2Model's weights as sam2's release files hold them (`torch.save({"model": this})`): sam2's key
    names, the four point embeddings as separate (1, C) embeddings, no HF duplicate of the Fourier matrix,
    plus tensors of the video-only modules."""
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if key == "shared_image_embedding.positional_embedding":
            continue
        if key == "prompt_encoder.point_embed.weight":
            for i, row in enumerate(value):
                out[f"sam_prompt_encoder.point_embeddings.{i}.weight"] = row[None].clone()
            continue
        out[_official_name(key)] = value.clone()
    gen = torch.Generator().manual_seed(7)
    for key in VIDEO_TENSORS:
        out[key] = torch.randn(2, 3, generator=gen)
    return out
