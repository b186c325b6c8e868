"""Uformer: published parameter counts, window attention, any input size, stage attach points."""
from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models.registry import create_backbone, pad_multiple, spf_attach_points
from samdistill.models.uformer import (
    LeWinBlock, Uformer, WindowAttention, drop_path, shifted_window_mask, window_merge, window_partition)
from samdistill.sam4ir.spf import probe_blocks


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def tiny() -> Uformer:
    torch.manual_seed(0)
    return create_backbone("uformer_tiny").eval()


@pytest.mark.parametrize("name, expected", [("uformer_t", 5.29e6), ("uformer_s", 20.75e6), ("uformer_b", 50.88e6)])
def test_published_variants_match_paper_parameter_counts(name, expected):
    with torch.device("meta"):  # counts only
        model = create_backbone(name)
    assert abs(n_params(model) - expected) <= 0.01 * expected
    assert pad_multiple(model) == 128


def test_modulator_lives_only_in_decoder_blocks():
    plain = Uformer(embed_dim=4, depths=(1,) * 9, modulator=False)
    modulated = Uformer(embed_dim=4, depths=(1,) * 9, modulator=True)
    decoder_widths = [64, 32, 16, 8]  # 2x the encoder width at each level (skip concatenated)
    assert n_params(modulated) - n_params(plain) == 8 * 8 * sum(decoder_widths)
    assert all(b.modulator is None for s in modulated.encoders for b in s.blocks)


def test_tiny_variant_is_small(tiny):
    assert n_params(tiny) < 0.3e6


def test_tiny_forward_backward_on_odd_size():
    torch.manual_seed(0)
    model = create_backbone("uformer_tiny", drop_path_rate=0.2).train()
    x = torch.rand(1, 3, 37, 45, requires_grad=True)
    out = model(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert torch.isfinite(x.grad).all()


def test_padding_is_zero_pad_then_crop(tiny):
    x = torch.rand(1, 3, 100, 77)
    with torch.no_grad():
        out = tiny(x)
        padded = tiny(F.pad(x, (0, 128 - 77, 0, 128 - 100)))
    assert out.shape == x.shape
    torch.testing.assert_close(out, padded[..., :100, :77])


def test_attach_points_are_stage_feature_maps_in_execution_order(tiny):
    paths = spf_attach_points(tiny)
    assert paths == [f"encoders.{i}" for i in range(4)] + ["bottleneck"] + [f"decoders.{i}" for i in range(4)]
    blocks = probe_blocks(tiny, paths, size=40)  # padded to 128 inside
    assert [(b.path, b.channels, b.size) for b in blocks] == [
        ("encoders.0", 4, (128, 128)), ("encoders.1", 8, (64, 64)), ("encoders.2", 16, (32, 32)),
        ("encoders.3", 32, (16, 16)), ("bottleneck", 64, (8, 8)),
        ("decoders.0", 64, (16, 16)), ("decoders.1", 32, (32, 32)), ("decoders.2", 16, (64, 64)),
        ("decoders.3", 8, (128, 128))]


@pytest.mark.parametrize("bad, shape", [(torch.rand(3, 16, 16), "(3, 16, 16)"), (torch.rand(1, 4, 8, 8), "(1, 4, 8, 8)")])
def test_bad_input_shape_is_a_clear_error(tiny, bad, shape):
    message = r"Uformer expects an image batch \(B, 3, H, W\), got shape " + re.escape(shape)
    with pytest.raises(ValueError, match=message):
        tiny(bad)


def _influences(block: LeWinBlock, src: tuple[int, int], dst: tuple[int, int]) -> bool:
    """Does changing the token at `src` change the block's output at `dst` (16x16 map)?"""
    torch.manual_seed(1)
    x = torch.randn(1, 16, 16, 4)
    bumped = x.clone()
    bumped[0, src[0], src[1], 0] += 5.0  # one channel: a uniform bump would vanish in LayerNorm
    with torch.no_grad():
        return not torch.allclose(block(x)[0, dst[0], dst[1]], block(bumped)[0, dst[0], dst[1]])


def test_shifted_windows_mix_across_window_borders_but_not_around_the_image():
    torch.manual_seed(0)
    plain, shifted = LeWinBlock(4, 1, win=8, shift=False), LeWinBlock(4, 1, win=8, shift=True)
    # (6,6) and (9,9) sit in different plain windows, in the same shifted one (rows/cols 4-11), and
    # are too far apart for LeFF's 3x3 conv to connect them
    assert not _influences(plain, (9, 9), (6, 6)) and _influences(shifted, (9, 9), (6, 6))
    # the cyclic shift puts opposite corners in one window; the mask must keep them apart
    assert not _influences(shifted, (0, 0), (15, 15)) and _influences(shifted, (12, 12), (15, 15))


def test_window_partition_round_trip_and_layout():
    x = torch.arange(2 * 8 * 12 * 3, dtype=torch.float32).view(2, 8, 12, 3)
    windows = window_partition(x, 4)
    assert windows.shape == (2 * 2 * 3, 16, 3)
    torch.testing.assert_close(windows[1, 0], x[0, 0, 4])  # second window starts at column 4
    torch.testing.assert_close(window_merge(windows, 4, 2, 8, 12), x)


def test_shifted_mask_separates_wrapped_regions_only():
    mask = shifted_window_mask(16, 16, win=8, shift=4, device=torch.device("cpu"))
    assert mask.shape == (4, 64, 64)
    assert (mask[0] == 0).all()  # top-left window: no wrapped tokens
    # bottom-right window holds four 4x4 regions from different image corners
    assert ((mask[3] == 0).sum(dim=1) == 16).all() and ((mask[3] == -100).sum(dim=1) == 48).all()


def test_window_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    dim, heads, win, batch = 8, 2, 4, 2
    attn = WindowAttention(dim, heads, win)
    nn.init.normal_(attn.bias_table)
    mask = shifted_window_mask(8, 8, win, 2, torch.device("cpu"))  # 4 windows
    x = torch.randn(batch * 4, win * win, dim)
    q, k, v = attn.qkv(x).view(batch * 4, 16, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    bias = attn.bias_table[attn.bias_index.reshape(-1)].view(16, 16, heads).permute(2, 0, 1)
    logits = q @ k.transpose(-1, -2) / math.sqrt(dim // heads) + bias + mask.repeat(batch, 1, 1)[:, None]
    expected = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(batch * 4, 16, dim))
    torch.testing.assert_close(attn(x, mask), expected)


def test_drop_path_drops_whole_samples_only_in_training():
    torch.manual_seed(0)
    x = torch.ones(64, 3, 2, 2)
    assert torch.equal(drop_path(x, 0.5, training=False), x)
    out = drop_path(x, 0.5, training=True)
    per_sample = out.flatten(1)
    assert set(per_sample.unique().tolist()) == {0.0, 2.0}
    assert (per_sample == per_sample[:, :1]).all()


def test_bad_depths_are_rejected():
    with pytest.raises(ValueError, match="needs 9 depths and num_heads"):
        Uformer(embed_dim=4, depths=(1, 1, 1))
