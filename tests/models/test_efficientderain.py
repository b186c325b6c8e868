"""EfficientDerain: reference parameter count, pixel-wise dilation filtering, SPF points, L1-SSIM loss."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from samdistill.models.efficientderain import EfficientDerain, pixelwise_filter
from samdistill.models.losses_paper import efficientderain_loss, gaussian_ssim, gaussian_ssim_map
from samdistill.models.registry import create_backbone, list_backbones, pad_multiple, spf_attach_points
from samdistill.sam4ir.spf import probe_blocks


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_both_variants_are_registered():
    assert {"efficientderain", "efficientderain_tiny"} <= set(list_backbones())


def test_default_counts_the_references_27_40m_parameters():
    model = create_backbone("efficientderain")
    assert abs(n_params(model) - 27.40e6) / 27.40e6 < 0.01
    assert n_params(create_backbone("efficientderain_tiny")) < 0.5e6


def test_tiny_forward_backward_on_odd_size():
    torch.manual_seed(0)
    model = create_backbone("efficientderain_tiny")
    x = torch.rand(1, 3, 29, 41)
    y = model(x)
    assert y.shape == x.shape and pad_multiple(model) == 16
    efficientderain_loss(y, x.flip(-1)).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.enc1.body[0].weight.grad.abs().sum() > 0  # gradient reaches the first layer


def test_pixelwise_filter_one_hot_tap_shifts_by_the_dilation():
    image = torch.rand(1, 3, 7, 8)
    kernels = torch.zeros(1, 27, 7, 8)
    kernels[:, [0, 9, 18]] = 1  # tap (row 0, col 0) of each colour: the pixel (-d, -d) away
    out = pixelwise_filter(image, kernels, 3, dilation=2)
    expected = F.pad(image, (2, 0, 2, 0))[..., :7, :8]
    assert torch.equal(out, expected)


def test_pixelwise_filter_with_a_mean_kernel_is_a_dilated_box_blur():
    image = torch.rand(2, 3, 9, 10)
    kernels = torch.full((2, 27, 9, 10), 1 / 9)
    box = torch.full((3, 1, 3, 3), 1 / 9)
    expected = F.conv2d(image, box, padding=3, dilation=3, groups=3)
    assert torch.allclose(pixelwise_filter(image, kernels, 3, dilation=3), expected, atol=1e-6)


def test_spf_attach_points_are_the_unet_levels_in_order():
    model = create_backbone("efficientderain_tiny")
    paths = spf_attach_points(model)
    blocks = probe_blocks(model, paths, size=32)
    sizes = {b.path: b.size for b in blocks}
    assert [b.path for b in blocks] == paths and len(paths) == 8
    assert sizes["enc1"] == (32, 32) and sizes["bottleneck"] == (2, 2) and sizes["dec2"] == (16, 16)
    assert {b.path: b.channels for b in blocks}["dec2"] == 27  # kernel channels 3 * 3 * 3


def test_rejects_bad_widths():
    with pytest.raises(ValueError, match="5 level widths"):
        EfficientDerain(widths=(8, 16))


def test_l1_ssim_loss_of_identical_images_is_minus_the_ssim_weight():
    x = torch.rand(2, 3, 20, 24)
    assert math.isclose(efficientderain_loss(x, x.clone()).item(), -0.2, rel_tol=1e-5)
    assert math.isclose(efficientderain_loss(x, x.clone(), ssim_weight=0.5).item(), -0.5, rel_tol=1e-5)


def test_ssim_of_constant_images_away_from_the_border():
    a, b = (torch.full((1, 1, 24, 24), v, dtype=torch.float64) for v in (0.2, 0.6))  # no fp32 cancellation
    c1 = 0.01**2
    inner = gaussian_ssim_map(a, b)[..., 5:-5, 5:-5]
    assert torch.allclose(inner, torch.full_like(inner, (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)))


def test_ssim_interior_matches_skimage_gaussian_ssim():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    x = rng.random((30, 33)).astype(np.float32)
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
    _, ref = skm.structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=1.0, full=True)
    ours = gaussian_ssim_map(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None])[0, 0].numpy()
    assert np.allclose(ours[5:-5, 5:-5], ref[5:-5, 5:-5], atol=1e-4)
    assert 0 < gaussian_ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None]) < 1
