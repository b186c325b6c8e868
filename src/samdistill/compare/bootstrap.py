"""Paired bootstrap confidence intervals over images: is run B's gain over run A larger than the noise?

Both runs scored the same images. A resample draws N images with replacement (the same draw for A
and B: paired) and recomputes the statistic of B minus that of A; the interval is the percentile
interval of the resampled differences (2.5 % and 97.5 % for 95 %). Resamples are drawn as
multinomial counts per image from `np.random.default_rng(seed)`, so the result depends only on the
seed, the number of resamples and the data.

- `paired_mean_ci`: the statistic is the mean of a per-image metric (PSNR, SSIM, LPIPS);
  images where either run has a non-finite value (PSNR of an identical image is inf) are left
  out and counted in `excluded`.
- `paired_confusion_ci`: the statistic is a dataset-level segmentation score (mIoU, pixel accuracy,
  mean Dice) of the summed per-image confusion matrices, exactly as the whole set is scored.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

# Keep each block of resample counts (resamples x images) near this many cells, whatever N is.
_BLOCK_CELLS = 4_000_000

# Below this many images a percentile bootstrap interval is too coarse to lean on: with n images
# there are few distinct resamples, and the interval is known to come out too narrow.
FEW_IMAGES = 10


def few_images_caution(count: int) -> str | None:
    """A caution to print beside intervals over fewer than FEW_IMAGES images, else None."""
    if count >= FEW_IMAGES:
        return None
    return (f"caution: only {count} image(s); a bootstrap interval over fewer than {FEW_IMAGES} images is rough "
            "(few distinct resamples, usually too narrow): read it as a hint, not evidence")


@dataclass(frozen=True)
class PairedCI:
    delta: float          # statistic(B) - statistic(A) on all images
    low: float            # percentile interval of the resampled deltas
    high: float
    improved: int         # images where B is better than A (by the metric's direction)
    worse: int
    tied: int
    count: int            # images used
    excluded: int         # images left out (non-finite values)
    resamples: int
    confidence: float
    seed: int

    def as_dict(self) -> dict:
        return asdict(self)


def resample_counts(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of (r, n) multinomial counts, each row one bootstrap resample of n items."""
    if n < 1:
        raise ValueError("a bootstrap needs at least one image")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // n)
    done = 0
    while done < resamples:
        r = min(block, resamples - done)
        yield rng.multinomial(n, np.full(n, 1.0 / n), size=r)
        done += r


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def _direction_counts(per_image: np.ndarray, higher_is_better: bool) -> tuple[int, int, int]:
    better = per_image > 0 if higher_is_better else per_image < 0
    worse = per_image < 0 if higher_is_better else per_image > 0
    return int(better.sum()), int(worse.sum()), int((per_image == 0).sum())


def paired_mean_ci(a: np.ndarray, b: np.ndarray, higher_is_better: bool = True, resamples: int = 10_000,
                   seed: int = 0, confidence: float = 0.95) -> PairedCI:
    """CI of mean(b - a) over images (a[i], b[i]: the same image scored in runs A and B)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need two 1-D arrays of one length, got {a.shape} and {b.shape}")
    finite = np.isfinite(a) & np.isfinite(b)
    d = (b - a)[finite]
    n = d.size
    if n == 0:
        raise ValueError("no image has finite values in both runs")
    centre = float(d.mean())
    offsets = d - centre  # a constant delta gives exactly zero-width intervals
    means = np.concatenate([centre + counts @ offsets / n for counts in resample_counts(n, resamples, seed)])
    low, high = _interval(means, confidence)
    improved, worse, tied = _direction_counts(d, higher_is_better)
    return PairedCI(centre, low, high, improved, worse, tied, n, int((~finite).sum()), resamples, confidence, seed)


# ---------------------------------------------------------------- segmentation scores from confusion matrices

def _scores(matrices: np.ndarray) -> dict[str, np.ndarray]:
    """mIoU, pixel accuracy and mean Dice of (..., C, C) matrices (rows: ground truth), as
    metrics.segmentation.ConfusionMatrix computes them (nanmean over classes with a non-empty union)."""
    m = matrices.astype(np.float64)
    tp = np.diagonal(m, axis1=-2, axis2=-1)
    gt, pred = m.sum(-1), m.sum(-2)
    union = gt + pred - tp
    present = union > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(present, tp / union, 0.0)
        dice = np.where(present, 2 * tp / (gt + pred), 0.0)
        classes = present.sum(-1)
        total = m.sum((-2, -1))
        return {"mIoU": np.where(classes > 0, iou.sum(-1) / classes, np.nan),
                "pixel_acc": np.where(total > 0, tp.sum(-1) / total, np.nan),
                "mean_dice": np.where(classes > 0, dice.sum(-1) / classes, np.nan)}


SEG_SCORES = ("mIoU", "pixel_acc", "mean_dice")


def confusion_scores(matrices: np.ndarray) -> dict[str, np.ndarray]:
    """Public: the three dataset-level scores of one or many (C, C) confusion matrices."""
    return _scores(matrices)


def paired_confusion_ci(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0,
                        confidence: float = 0.95) -> dict[str, PairedCI]:
    """CIs of score(sum of B's matrices) - score(sum of A's) for mIoU, pixel accuracy and mean Dice.

    `a`, `b`: (N, C, C) per-image confusion matrices of the same images. "improved" compares the
    per-image scores (an image with no labeled pixel is tied)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"paired confusion matrices need two (N, C, C) arrays, got {a.shape} and {b.shape}")
    n, c = a.shape[0], a.shape[1]
    full_a, full_b = _scores(a.sum(0)), _scores(b.sum(0))
    flat_a, flat_b = a.reshape(n, c * c).astype(np.float64), b.reshape(n, c * c).astype(np.float64)
    deltas: dict[str, list[np.ndarray]] = {k: [] for k in SEG_SCORES}
    for counts in resample_counts(n, resamples, seed):
        ra = _scores((counts @ flat_a).reshape(-1, c, c))
        rb = _scores((counts @ flat_b).reshape(-1, c, c))
        for k in SEG_SCORES:
            deltas[k].append(rb[k] - ra[k])
    per_a, per_b = _scores(a), _scores(b)
    out = {}
    for k in SEG_SCORES:
        values = np.concatenate(deltas[k])
        values = values[np.isfinite(values)]
        low, high = _interval(values, confidence) if values.size else (float("nan"), float("nan"))
        per_image = np.nan_to_num(per_b[k] - per_a[k], nan=0.0)
        improved, worse, tied = _direction_counts(per_image, True)
        out[k] = PairedCI(float(full_b[k] - full_a[k]), low, high, improved, worse, tied, n, 0, resamples,
                          confidence, seed)
    return out

