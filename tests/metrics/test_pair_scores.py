"""The fast PSNR/SSIM scorer agrees with the float64 reference functions on every kind of image."""
from __future__ import annotations

import math

import numpy as np
import pytest

from samdistill.metrics.pair_scores import PairScorer
from samdistill.metrics.psnr_ssim import psnr, ssim


def _cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    noise = rng.random((40, 52, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    smooth = np.stack([yy, xx, (xx + yy) / 2], axis=-1)
    flat = np.full((24, 30, 3), 0.5, np.float32)
    return [
        ("noise", np.clip(noise + rng.normal(0, 0.05, noise.shape), 0, 1), noise),
        ("smooth", np.clip(smooth + rng.normal(0, 0.01, smooth.shape), 0, 1), smooth),
        ("flat", flat, flat + 3 / 255),
        ("extremes", np.zeros((20, 20, 3)), np.ones((20, 20, 3))),
        ("uint8", rng.integers(0, 256, (33, 17, 3), dtype=np.uint8), rng.integers(0, 256, (33, 17, 3), dtype=np.uint8)),
    ]


@pytest.mark.parametrize("y_channel", [False, True])
@pytest.mark.parametrize("crop", [0, 3])
def test_cpu_scores_match_the_reference(y_channel: bool, crop: int) -> None:
    scorer = PairScorer(crop, y_channel)
    for name, pred, gt in _cases():
        got_psnr, got_ssim = scorer.score(gt, {"x": pred})["x"]
        assert got_psnr == pytest.approx(psnr(pred, gt, crop, y_channel), abs=1e-10), name
        assert got_ssim == pytest.approx(ssim(pred, gt, crop, y_channel), abs=1e-6), name


def test_several_predictions_share_one_ground_truth() -> None:
    _, pred, gt = _cases()[0]
    other = np.clip(gt + 0.1, 0, 1)
    both = PairScorer().score(gt, {"a": pred, "b": other, "same": gt})
    assert both["a"][1] == pytest.approx(ssim(pred, gt), abs=1e-6)
    assert both["b"][1] == pytest.approx(ssim(other, gt), abs=1e-6)
    assert math.isinf(both["same"][0]) and both["same"][1] == pytest.approx(1.0, abs=1e-7)


def test_score_many_and_the_batched_torch_path_agree_with_the_reference() -> None:
    cases = _cases()
    preds, gts = [c[1] for c in cases], [c[2] for c in cases]
    scorer = PairScorer(threads=2)
    p, s = scorer.score_many(preds, gts)
    # the CUDA path's code (float64 torch, grouped by size, batches of 2) run on the CPU
    tp, ts = PairScorer(batch_size=2)._torch_batch(preds, gts)
    for i, (pred, gt) in enumerate(zip(preds, gts)):
        assert p[i] == pytest.approx(psnr(pred, gt), abs=1e-10) and tp[i] == pytest.approx(psnr(pred, gt), abs=1e-9)
        assert s[i] == pytest.approx(ssim(pred, gt), abs=1e-6) and ts[i] == pytest.approx(ssim(pred, gt), abs=1e-12)


def test_bad_inputs_raise() -> None:
    scorer = PairScorer()
    with pytest.raises(ValueError, match="shapes differ"):
        scorer.score(np.zeros((20, 20, 3)), {"x": np.zeros((20, 21, 3))})
    with pytest.raises(ValueError, match="at least 11x11"):
        scorer.score(np.zeros((10, 20, 3)), {"x": np.zeros((10, 20, 3))})
    with pytest.raises(ValueError, match="2 predictions for 1"):
        scorer.score_many([np.zeros((20, 20, 3))] * 2, [np.zeros((20, 20, 3))])
    with pytest.raises(ValueError, match="crop_border"):
        PairScorer(crop_border=-1)
