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
