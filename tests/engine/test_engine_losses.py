"""Reconstruction losses against hand-computed values and an independent SSIM (scikit-image)."""
import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from samdistill.engine.config import LossConfig
from samdistill.methods.losses import build_loss, ssim


def _t(values):
    return torch.tensor(values, dtype=torch.float64).view(1, 1, 1, -1)


def test_charbonnier_uses_eps_squared():
    loss = build_loss(LossConfig(name="charbonnier", charbonnier_eps=1e-3))
    got = loss(_t([0.0, 0.3]), _t([0.0, 0.0])).item()
    assert got == pytest.approx((1e-3 + math.sqrt(0.09 + 1e-6)) / 2, rel=1e-12)


def test_l1_and_mse_known_values():
    pred, gt = _t([1.0, -1.0, 0.5]), _t([0.0, 0.0, 0.0])
    assert build_loss(LossConfig(name="l1"))(pred, gt).item() == pytest.approx(2.5 / 3)
    assert build_loss(LossConfig(name="mse"))(pred, gt).item() == pytest.approx(2.25 / 3)


def test_psnr_loss_is_minus_mean_psnr_in_db():
    gt = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    pred = gt.clone()
    pred[0] += 0.1   # mse 1e-2 -> PSNR 20 dB
    pred[1] += 0.01  # mse 1e-4 -> PSNR 40 dB
    got = build_loss(LossConfig(name="psnr"))(pred, gt).item()
    # NAFNet adds 1e-8 to the mse inside the log
    expected = (10 * math.log10(1e-2 + 1e-8) + 10 * math.log10(1e-4 + 1e-8)) / 2
    assert got == pytest.approx(expected, rel=1e-9)
    assert got == pytest.approx(-30.0, abs=1e-3)


def test_ssim_matches_scikit_image_gaussian_ssim():
    rng = np.random.default_rng(0)
    a = rng.random((24, 20, 3))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=1.0, channel_axis=2)
    to_t = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None]  # noqa: E731
    assert ssim(to_t(a), to_t(b)).item() == pytest.approx(ref, abs=1e-6)


def test_l1_ssim_is_l1_minus_weighted_ssim():
    loss = build_loss(LossConfig(name="l1_ssim", ssim_weight=0.2))
    gt = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert loss(gt, gt).item() == pytest.approx(-0.2, abs=1e-6)  # L1 = 0, SSIM = 1
    near, far = gt + 0.01, gt + 0.2
    assert loss(near, gt).item() < loss(far, gt).item()
    pred = far.clone().requires_grad_(True)
    loss(pred, gt).backward()
    assert pred.grad.sum() > 0  # moving the prediction down towards gt lowers the loss
    # exactly L1 - w * SSIM (a mutant weighting L1 or taking another w fails here)
    from samdistill.methods.losses import l1_loss, ssim

    other = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    assert loss(other, gt).item() == pytest.approx((l1_loss(other, gt) - 0.2 * ssim(other, gt)).item(), abs=1e-6)
    heavier = build_loss(LossConfig(name="l1_ssim", ssim_weight=0.5))
    assert heavier(other, gt).item() == pytest.approx((l1_loss(other, gt) - 0.5 * ssim(other, gt)).item(), abs=1e-6)
