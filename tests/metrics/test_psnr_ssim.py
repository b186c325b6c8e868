"""PSNR/SSIM agree with scikit-image on RGB and with hand-computed values on the Y channel."""
from __future__ import annotations

import math
import json

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from samdistill.metrics.psnr_ssim import json_safe, psnr, psnr_torch, ssim, ssim_torch


def _noisy_pair(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.random((h, w, 3)).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 0.08, gt.shape), 0, 1).astype(np.float32)
    return pred, gt


def _u8(img: np.ndarray) -> np.ndarray:
    return np.round(img * 255).astype(np.uint8)


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=-1)


@pytest.mark.parametrize("h,w,crop", [(16, 16, 0), (37, 53, 0), (37, 53, 4), (29, 64, 2), (23, 31, 6)])
def test_rgb_matches_skimage(h: int, w: int, crop: int) -> None:
    pred, gt = _noisy_pair(h, w, seed=h * w + crop)
    a, b = _u8(pred), _u8(gt)
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    assert psnr(pred, gt, crop_border=crop) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-4)
    assert ssim(pred, gt, crop_border=crop) == pytest.approx(_sk_ssim(a, b), abs=1e-5)


def test_float_and_uint8_inputs_score_the_same() -> None:
    pred, gt = _noisy_pair(20, 24, seed=1)
    assert psnr(pred, gt) == psnr(_u8(pred), _u8(gt))
    assert ssim(pred, gt, y_channel=True) == ssim(_u8(pred), _u8(gt), y_channel=True)
    # data_range: a float image on the [0, 255] scale
    assert psnr(pred * 255, gt * 255, data_range=255) == pytest.approx(psnr(pred, gt), abs=1e-12)


def _constant(rgb: tuple[int, int, int], size: int = 16) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (size, size, 3)).copy()


def test_y_channel_known_values_on_constant_images() -> None:
    red, black = _constant((255, 0, 0)), _constant((0, 0, 0))
    # BT.601: Y(red) = 16 + 65.481 = 81.481, Y(black) = 16
    assert psnr(red, black, y_channel=True) == pytest.approx(20 * math.log10(255 / 65.481), abs=1e-9)
    c1 = (0.01 * 255) ** 2  # constant images: zero (co)variances, SSIM = luminance term only
    expected = (2 * 81.481 * 16 + c1) / (81.481 ** 2 + 16 ** 2 + c1)
    assert ssim(red, black, y_channel=True) == pytest.approx(expected, abs=1e-12)
    # white vs black spans the full Y range 16..235
    assert psnr(_constant((255, 255, 255)), black, y_channel=True) == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)


def test_y_channel_of_gray_images_scales_the_error_by_219_over_255() -> None:
    rng = np.random.default_rng(3)
    level = rng.integers(0, 256, (24, 24, 1))
    gray_gt = level.repeat(3, axis=2).astype(np.uint8)
    gray_pred = np.clip(level + rng.integers(-9, 10, (24, 24, 1)), 0, 255).repeat(3, axis=2).astype(np.uint8)
    assert psnr(gray_pred, gray_gt, y_channel=True) == pytest.approx(
        psnr(gray_pred, gray_gt) - 20 * math.log10(219 / 255), abs=1e-9)


def test_identical_images_give_infinite_psnr_and_ssim_one() -> None:
    _, gt = _noisy_pair(16, 16, seed=2)
    assert psnr(gt, gt) == math.inf
    assert psnr(gt, gt, y_channel=True) == math.inf
    assert ssim(gt, gt) == pytest.approx(1.0, abs=1e-12)
    # strict JSON: inf becomes the string "inf", which float() reads back
    text = json.dumps(json_safe({"psnr": psnr(gt, gt), "list": [1.5, -math.inf]}), allow_nan=False)
    assert json.loads(text) == {"psnr": "inf", "list": [1.5, "-inf"]}
    assert float(json.loads(text)["psnr"]) == math.inf


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(16, 16, 3\).*\(16, 17, 3\)"):
        psnr(np.zeros((16, 16, 3)), np.zeros((16, 17, 3)))
    with pytest.raises(ValueError, match=r"\(16, 16, 3\).*\(15, 16, 3\)"):
        ssim(np.zeros((16, 16, 3)), np.zeros((15, 16, 3)))


def test_too_small_or_over_cropped_images_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((10, 30, 3)), np.zeros((10, 30, 3)))
    with pytest.raises(ValueError, match="crop_border=8"):
        psnr(np.zeros((16, 30, 3)), np.zeros((16, 30, 3)), crop_border=8)


@pytest.mark.parametrize("y_channel,crop", [(False, 0), (True, 3)])
def test_torch_batch_versions_match_numpy(y_channel: bool, crop: int) -> None:
    pairs = [_noisy_pair(19, 27, seed=s) for s in (5, 6)]
    pred = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p, _ in pairs])
    gt = torch.stack([torch.from_numpy(g).permute(2, 0, 1) for _, g in pairs])
    got_psnr = psnr_torch(pred, gt, crop, y_channel)
    got_ssim = ssim_torch(pred, gt, crop, y_channel)
    for i, (p, g) in enumerate(pairs):
        assert got_psnr[i].item() == pytest.approx(psnr(p, g, crop, y_channel), abs=1e-9)
        assert got_ssim[i].item() == pytest.approx(ssim(p, g, crop, y_channel), abs=1e-9)
    assert torch.isinf(psnr_torch(gt, gt)).all()
