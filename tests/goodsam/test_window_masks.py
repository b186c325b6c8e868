"""The whole panorama's masks cut to windows (`masks_per_window: false`): choosing the N largest per window
from per-column areas, then cropping only those, gives exactly what cropping every mask gives."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from samdistill.data.pano_windows import WindowGrid
from samdistill.goodsam.data import PanoramaWindows, _top_classes, top_masks, top_order
from samdistill.priors.maskset import MaskSet


def _reference(whole: MaskSet, grid: WindowGrid, n: int):
    """The plain way: crop every mask with a list of (modular) columns, then pick the largest."""
    masks, classes, scores = [], [], []
    for k in range(len(grid)):
        (top, left), (wh, ww) = grid.boxes[k], grid.window_hw
        cols = [(left + c) % grid.size_hw[1] for c in range(ww)]
        m = whole.masks[:, top:top + wh][..., cols]
        order = top_order(m, n)
        masks.append(top_masks(m, n))
        c, v = _top_classes(order, whole.class_id, whole.class_score, n)
        classes.append(c)
        scores.append(v)
    return np.stack(masks), np.stack(classes), np.stack(scores)


def _random_masks(rng, count, height, width):
    masks = np.zeros((count, height, width), bool)
    for m in masks:
        top, left = rng.integers(0, height), rng.integers(0, width)
        m[top:top + rng.integers(1, height), left:left + rng.integers(1, width)] = True
    masks[1] = masks[0]  # equal areas: ties keep the stored order
    masks[2] = False  # an empty mask is never chosen
    return masks


@pytest.mark.parametrize("windows", [
    {"window": 12, "stride": 8, "wrap": True, "window_h": None, "stride_h": None},  # crosses the seam
    {"window": 12, "stride": 10, "wrap": False, "window_h": None, "stride_h": None},
    {"window": 12, "stride": 8, "wrap": True, "window_h": 6, "stride_h": 4},  # GoodSAM++ grid
])
def test_masks_cut_from_per_window_areas_equal_cropping_all(windows, tmp_path):
    rng = np.random.default_rng(0)
    whole = MaskSet(_random_masks(rng, 30, 10, 40), class_id=rng.integers(-1, 19, 30),
                    class_score=rng.random(30).astype(np.float32))
    cfg = SimpleNamespace(**windows)
    grid = WindowGrid.for_size(cfg, 10, 40)
    ds = PanoramaWindows.__new__(PanoramaWindows)
    ds.num_masks = 7
    got = ds._cut_whole(whole, grid)
    for a, b in zip(got, _reference(whole, grid, 7)):
        np.testing.assert_array_equal(a, b)


def test_crop_is_a_copy_for_numpy_and_torch():
    grid = WindowGrid.for_size(SimpleNamespace(window=4, stride=4, wrap=True, window_h=None, stride_h=None), 2, 8)
    for array in (np.arange(16).reshape(2, 8), torch.arange(16).reshape(2, 8)):
        window = grid.crop(array, 0)
        window[0, 0] = -1
        assert array[0, 0] == 0


def _cached_runs(tmp_path, whole: MaskSet):
    """`whole` written to a real mask cache and read back as runs (the path a training run takes)."""
    from samdistill.priors.cache import MaskCache

    cache = MaskCache(tmp_path / "cache")
    fingerprint = {"name": "test"}
    cache.put("ab" * 32, fingerprint, whole)
    return cache.get_runs("ab" * 32, fingerprint)


def test_column_counts_from_runs_equal_the_decoded_masks(tmp_path):
    rng = np.random.default_rng(1)
    masks = _random_masks(rng, 25, 9, 31)
    masks[3] = True  # a full mask, and masks that start with a 1 (a zero-length first run)
    masks[4, 0, 0] = masks[5, :, 0] = True
    runs = _cached_runs(tmp_path, MaskSet(masks))
    np.testing.assert_array_equal(runs.column_counts(), masks.sum(1))
    np.testing.assert_array_equal(runs.columns([5, 0, 3]), masks[[5, 0, 3]].transpose(0, 2, 1))
    assert runs.column_counts().dtype == np.int64 and len(runs) == 25


@pytest.mark.parametrize("windows", [
    {"window": 12, "stride": 8, "wrap": True, "window_h": None, "stride_h": None},  # crosses the seam
    {"window": 12, "stride": 10, "wrap": False, "window_h": None, "stride_h": None},
])
def test_masks_cut_from_the_cache_runs_equal_cropping_all(windows, tmp_path):
    """Only the masks some window keeps are decoded, and the windows are what cropping every mask gives."""
    rng = np.random.default_rng(2)
    whole = MaskSet(_random_masks(rng, 30, 10, 40), class_id=rng.integers(-1, 19, 30),
                    class_score=rng.random(30).astype(np.float32))
    grid = WindowGrid.for_size(SimpleNamespace(**windows), 10, 40)
    ds = PanoramaWindows.__new__(PanoramaWindows)
    ds.num_masks = 5
    got = ds._cut_runs(_cached_runs(tmp_path, whole), grid)
    for a, b in zip(got, _reference(whole, grid, 5)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="full-height"):
        WindowGrid.for_size(SimpleNamespace(window=12, stride=8, wrap=True, window_h=6, stride_h=4), 10, 40) \
            .window_sums(np.zeros((1, 40)))


def test_provider_gives_runs_only_for_cached_masks(tmp_path):
    """Not cached yet: no runs (the dataset then decodes every mask and the cache fills); cached: the runs,
    equal to the decoded masks; no disk cache: never runs."""
    from samdistill.priors.cache import MaskCache
    from samdistill.priors.config import PriorsConfig
    from samdistill.priors.offline import OfflineSegmenter
    from samdistill.priors.provider import PriorProvider

    image = np.random.default_rng(3).random((16, 24, 3), dtype=np.float32)
    provider = PriorProvider(PriorsConfig(), segmenter=OfflineSegmenter(), cache=MaskCache(tmp_path))
    assert provider.runs_for(image) is None
    masks = provider.masks_for(image).masks
    runs = provider.runs_for(image)
    np.testing.assert_array_equal(runs.column_counts(), masks.sum(1))
    assert PriorProvider(PriorsConfig(), segmenter=OfflineSegmenter(), cache=False).runs_for(image) is None
