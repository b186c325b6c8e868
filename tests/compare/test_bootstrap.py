"""Paired bootstrap intervals: hand-checkable cases, coverage, and the confusion-matrix statistics."""
from __future__ import annotations

import numpy as np
import pytest

from samdistill.compare.bootstrap import confusion_scores, paired_confusion_ci, paired_mean_ci
from samdistill.metrics.segmentation import ConfusionMatrix


def test_a_constant_delta_gives_a_zero_width_interval_at_that_value() -> None:
    a = np.random.default_rng(0).integers(20, 40, 57).astype(np.float64)
    ci = paired_mean_ci(a, a + 0.375, resamples=2000, seed=1)  # every difference exactly 0.375
    assert ci.low == ci.high == ci.delta == 0.375
    assert (ci.improved, ci.worse, ci.tied, ci.count) == (57, 0, 0, 57)
    lower_better = paired_mean_ci(a, a + 0.375, higher_is_better=False, resamples=10)
    assert (lower_better.improved, lower_better.worse) == (0, 57)


def test_interval_matches_the_normal_approximation_and_covers_the_sample_mean() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, 400)
    b = a + rng.normal(0.5, 1.0, 400)
    d = b - a
    ci = paired_mean_ci(a, b, resamples=10_000, seed=0)
    assert ci.low < d.mean() < ci.high
    half_width = 1.96 * d.std(ddof=1) / np.sqrt(d.size)
    assert (ci.high - ci.low) / 2 == pytest.approx(half_width, rel=0.1)
    assert ci.delta == pytest.approx(d.mean(), abs=1e-12)


def test_coverage_of_the_true_mean_is_close_to_95_percent() -> None:
    rng = np.random.default_rng(5)
    covered = 0
    trials = 200
    for t in range(trials):
        d = rng.exponential(1.0, 60) - 0.2  # skewed, true mean 0.8
        ci = paired_mean_ci(np.zeros(60), d, resamples=1000, seed=t)
        covered += ci.low <= 0.8 <= ci.high
    assert 0.85 <= covered / trials <= 0.99


def test_seeded_and_non_finite_values_left_out() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert paired_mean_ci(a, b, seed=4, resamples=500) == paired_mean_ci(a, b, seed=4, resamples=500)
    assert paired_mean_ci(a, b, seed=4, resamples=500).low != paired_mean_ci(a, b, seed=5, resamples=500).low
    a[3], b[7] = np.inf, np.inf  # identical images have PSNR inf
    ci = paired_mean_ci(a, b, resamples=100)
    assert ci.count == 28 and ci.excluded == 2
    assert ci.delta == pytest.approx(np.delete(b - a, [3, 7]).mean())
    with pytest.raises(ValueError, match="one length"):
        paired_mean_ci(a, b[:5])


def _random_matrices(rng, n: int, c: int) -> np.ndarray:
    m = rng.integers(0, 50, (n, c, c))
    m[:, 2, :] = 0  # class 2 absent from the ground truth ...
    m[:, :, 2] = 0  # ... and never predicted: excluded from the means
    return m


def test_confusion_scores_equal_the_confusion_matrix_module() -> None:
    m = _random_matrices(np.random.default_rng(0), 1, 5)[0]
    cm = ConfusionMatrix(5)
    cm.merge(m)
    ref = cm.compute()
    got = confusion_scores(m)
    assert float(got["mIoU"]) == pytest.approx(ref.miou, abs=1e-12)
    assert float(got["pixel_acc"]) == pytest.approx(ref.pixel_acc, abs=1e-12)
    assert float(got["mean_dice"]) == pytest.approx(ref.mean_dice, abs=1e-12)


def test_confusion_ci_delta_is_the_dataset_level_difference() -> None:
    rng = np.random.default_rng(1)
    a = _random_matrices(rng, 20, 4)
    b = a.copy()
    b[:, np.arange(4), np.arange(4)] += 30  # B gets more pixels right on every image
    cis = paired_confusion_ci(a, b, resamples=500, seed=0)
    for key in ("mIoU", "pixel_acc", "mean_dice"):
        expected = float(confusion_scores(b.sum(0))[key] - confusion_scores(a.sum(0))[key])
        assert cis[key].delta == pytest.approx(expected, abs=1e-12)
        assert 0 < cis[key].low <= cis[key].delta <= cis[key].high
        assert cis[key].improved == 20
    same = paired_confusion_ci(a, a, resamples=200)
    assert same["mIoU"].low == same["mIoU"].high == 0.0 and same["mIoU"].tied == 20


def test_intervals_over_few_images_carry_a_caution(tmp_path):
    """Issue 22, item 10: fewer than ~10 images -> the comparison says the interval is rough."""
    import importlib.util
    from pathlib import Path

    # this folder's conftest by path: `import conftest` may find another folder's in a combined run
    spec = importlib.util.spec_from_file_location("compare_conftest", Path(__file__).with_name("conftest.py"))
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    darken, box_blur, write_pairs = helpers.darken, helpers.box_blur, helpers.write_pairs
    from samdistill.compare.bootstrap import FEW_IMAGES, few_images_caution
    from samdistill.compare.runs import load_runs
    from samdistill.compare.table import compare_runs, markdown
    from samdistill.inference.evaluate import evaluate_model
    from samdistill.metrics.config import EvalConfig

    assert few_images_caution(FEW_IMAGES) is None and "only 4 image(s)" in few_images_caution(4)
    for count, cautioned in ((4, True), (FEW_IMAGES, False)):
        root = tmp_path / str(count)
        pairs = write_pairs(root, count)
        for label, net in (("A", darken()), ("B", box_blur())):
            evaluate_model(net, pairs, EvalConfig(), save_dir=root / label / "eval", progress=False,
                           meta={"dataset": {"label": "toy/test"}})
        comparison = compare_runs(load_runs([root / "A", root / "B"]), resamples=200)
        section = comparison["datasets"]["toy/test"]
        assert ("caution" in section) is cautioned
        assert ("Caution: only 4 image(s)" in markdown(comparison)) is cautioned
