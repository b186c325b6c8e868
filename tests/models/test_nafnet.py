"""NAFNet: published parameter counts, any input size, stage attach points for SPF."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models.nafnet import LayerNorm2d, NAFNet
from samdistill.models.registry import create_backbone, pad_multiple, spf_attach_points
from samdistill.sam4ir.spf import probe_blocks


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomized_tiny() -> NAFNet:
    """nafnet_tiny with its zero-initialised residual scales made non-zero, so blocks are not identities."""
    torch.manual_seed(0)
    model = create_backbone("nafnet_tiny")
    for name, p in model.named_parameters():
        if name.endswith(("beta", "gamma")):
            nn.init.uniform_(p, 0.2, 0.8)
    return model


@pytest.mark.parametrize("name, expected", [("nafnet_gopro_w32", 17.11e6), ("nafnet_gopro_w64", 67.89e6)])
def test_published_variants_match_paper_parameter_counts(name, expected):
    with torch.device("meta"):  # counts only: no memory, no init cost
        model = create_backbone(name)
    assert abs(n_params(model) - expected) <= 0.01 * expected
    assert pad_multiple(model) == 16


def test_tiny_variant_is_small_and_generic_needs_its_arguments():
    assert n_params(create_backbone("nafnet_tiny")) <= 0.5e6
    with pytest.raises(TypeError, match="nafnet"):
        create_backbone("nafnet")
    generic = create_backbone("nafnet", width=8, enc_blk_nums=[1, 2], middle_blk_num=1, dec_blk_nums=[1, 1])
    assert pad_multiple(generic) == 4
    assert [len(e) for e in generic.encoders] == [1, 2]


def test_mismatched_encoder_and_decoder_stages_are_rejected():
    with pytest.raises(ValueError, match="as many decoder as encoder stages"):
        NAFNet(width=8, enc_blk_nums=[1, 1], dec_blk_nums=[1])


def test_tiny_forward_backward_on_odd_size():
    model = randomized_tiny()
    x = torch.rand(1, 3, 37, 45, requires_grad=True)
    out = model(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_padding_is_zero_pad_then_crop():
    model = randomized_tiny().eval()
    x = torch.rand(2, 3, 21, 30)
    with torch.no_grad():
        out = model(x)
        padded = model(F.pad(x, (0, 2, 0, 3)))  # 24 x 32: already a multiple of 8
    assert out.shape == x.shape
    torch.testing.assert_close(out, padded[..., :21, :30])


def test_attach_points_are_stage_feature_maps_in_execution_order():
    model = create_backbone("nafnet_tiny")
    paths = spf_attach_points(model)
    assert paths == ["encoders.0", "encoders.1", "encoders.2", "middle_blks", "decoders.0", "decoders.1", "decoders.2"]
    blocks = probe_blocks(model, paths, size=32)
    assert [(b.path, b.channels, b.size) for b in blocks] == [
        ("encoders.0", 16, (32, 32)), ("encoders.1", 32, (16, 16)), ("encoders.2", 64, (8, 8)),
        ("middle_blks", 128, (4, 4)),
        ("decoders.0", 64, (8, 8)), ("decoders.1", 32, (16, 16)), ("decoders.2", 16, (32, 32))]


def test_attach_points_follow_the_variant_depth():
    with torch.device("meta"):
        model = create_backbone("nafnet_gopro_w32")
    paths = spf_attach_points(model)
    assert len(paths) == 9 and paths[4] == "middle_blks"
    assert all(isinstance(model.get_submodule(p), nn.Sequential) for p in paths)


def test_layernorm2d_normalises_over_channels():
    torch.manual_seed(0)
    norm = LayerNorm2d(5)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = torch.randn(2, 5, 3, 4)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (5,), norm.weight, norm.bias, eps=1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(x), expected)


@pytest.mark.parametrize("bad", [torch.rand(3, 16, 16), torch.rand(1, 1, 16, 16)])
def test_bad_input_shape_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"NAFNet expects an image batch \(B, 3, H, W\)"):
        create_backbone("nafnet_tiny")(bad)
