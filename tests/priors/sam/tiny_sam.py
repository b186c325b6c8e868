"""Tiny random SAM models and a test image, shared by the SAM backend tests."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

IMAGE_SIZE = 64


def tiny_sam_config() -> "transformers.SamConfig":
    """ViT with 2 blocks (block 1 global), 4x4 tokens, window 2; decoder width 32, 8 heads."""
    return transformers.SamConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=IMAGE_SIZE,
                           patch_size=16, output_channels=32, num_pos_feats=16, global_attn_indexes=[1],
                           window_size=2, mlp_dim=64),
        prompt_encoder_config=dict(hidden_size=32, image_size=IMAGE_SIZE, patch_size=16),
        mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=8, iou_head_hidden_dim=32),
    )


def tiny_sam_model(seed: int = 0) -> torch.nn.Module:
    """Random weights scaled so the decoder's logits vary (HF's init makes them ~0)."""
    return randomize(transformers.SamModel(tiny_sam_config()).eval(), seed)


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Seeded weights with unit-scale activations and decoder logits of a few units."""
    scale_weights(model, torch.Generator().manual_seed(seed))
    model.shared_image_embedding.positional_embedding.data = (
        model.prompt_encoder.shared_embedding.positional_embedding.data)
    return model


def unit_scale(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Unit-scale random weights (HF's init makes SAM-family logits ~0), any SAM-family model."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))


def scale_weights(model: torch.nn.Module, gen: torch.Generator) -> None:
    """`unit_scale`, then mask logits of a few units, for SAM and SAM 2 alike."""
    unit_scale(model, gen)
    with torch.no_grad():
        for mlp in model.mask_decoder.output_hypernetworks_mlps:
            mlp.proj_out.weight.mul_(8.0)  # logits of a few units: masks with real boundaries


def make_test_image(height: int = 40, width: int = 56, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 0.2, np.float32)
    img[height // 4: height // 2, width // 5: width // 2] = (0.9, 0.3, 0.1)
    img[height // 2:, width // 2:] = (0.1, 0.5, 0.9)
    return np.clip(img + 0.05 * rng.standard_normal(img.shape).astype(np.float32), 0, 1)


def tiny_sam_hq_model() -> torch.nn.Module:
    """SAM-HQ variant of the tiny model (HF `SamHQModel`), default random init (seeded)."""
    torch.manual_seed(0)
    base = tiny_sam_config().to_dict()
    decoder = dict(base["mask_decoder_config"], vit_dim=32)
    cfg = transformers.SamHQConfig(vision_config=base["vision_config"],
                                   prompt_encoder_config=base["prompt_encoder_config"], mask_decoder_config=decoder)
    return transformers.SamHQModel(cfg).eval()
