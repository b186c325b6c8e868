"""A tiny random SAM 3 (transformers `Sam3Model`) and a tiny CLIP tokenizer, saved together as a
Hugging Face folder, for the SAM 3 backend tests (all built offline)."""
from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")
if not hasattr(transformers, "Sam3Model"):
    pytest.skip(f"transformers {transformers.__version__} has no Sam3Model", allow_module_level=True)

from tiny_sam import unit_scale  # noqa: E402 (this directory)

IMAGE_SIZE = 56  # patch 14 -> 4x4 ViT grid; FPN levels 16, 8, 4; mask logits 16x16
VOCAB = {c: i for i, c in enumerate(string.ascii_lowercase)}
VOCAB.update({c + "</w>": 26 + i for i, c in enumerate(string.ascii_lowercase)})
VOCAB.update({"<|startoftext|>": 52, "<|endoftext|>": 53})


def tiny_sam3_config() -> "transformers.Sam3Config":
    grid = IMAGE_SIZE // 14
    vit = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
               num_attention_heads=2, image_size=IMAGE_SIZE, patch_size=14, window_size=2, global_attn_indexes=[1],
               pretrain_image_size=28)
    small = dict(hidden_size=32, num_attention_heads=2, intermediate_size=64)
    return transformers.Sam3Config(
        vision_config=dict(backbone_config=vit, fpn_hidden_size=32,
                           backbone_feature_sizes=[[4 * grid, 4 * grid], [2 * grid, 2 * grid], [grid, grid]]),
        text_config=dict(vocab_size=len(VOCAB), hidden_size=32, intermediate_size=64, projection_dim=32,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=32,
                         bos_token_id=52, eos_token_id=53, pad_token_id=53),
        geometry_encoder_config=dict(num_layers=1, **small),
        detr_encoder_config=dict(num_layers=1, **small),
        detr_decoder_config=dict(num_layers=1, num_queries=8, **small),
        mask_decoder_config=dict(hidden_size=32, num_upsampling_stages=3, num_attention_heads=2),
    )


def tiny_sam3_model(seed: int = 0) -> torch.nn.Module:
    """Unit-scale random weights, so scores and mask logits vary (HF's init makes them ~0)."""
    model = transformers.Sam3Model(tiny_sam3_config()).eval()
    unit_scale(model, torch.Generator().manual_seed(seed))
    return model


def tiny_clip_tokenizer() -> "transformers.CLIPTokenizer":
    """Letters as tokens (no merges): every lower-case class name tokenizes."""
    return transformers.CLIPTokenizer(vocab=dict(VOCAB), merges=[])


def save_tiny_sam3(path: Path, seed: int = 0) -> Path:
    tiny_sam3_model(seed).save_pretrained(path)
    tiny_clip_tokenizer().save_pretrained(path)
    return path
