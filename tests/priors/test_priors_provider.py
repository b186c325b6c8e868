"""PriorProvider: stacks for the dataset, LRU behaviour, prior sources, pickling for workers."""
import pickle

import numpy as np
import pytest

from samdistill.priors.cache import MaskCache
from samdistill.priors.config import PriorsConfig
from samdistill.priors.provider import PriorProvider

from priors_fakes import CountingSegmenter, gradient_image


def _provider(seg, lru_size=256, num_masks=4, source="lq", cache=False):
    return PriorProvider(PriorsConfig(num_masks=num_masks), segmenter=seg, source=source,
                         cache=cache, lru_size=lru_size)


def test_stack_is_area_sorted_padded_float32():
    img = gradient_image(width=10)  # red = 0, 1/9, ..., 1 across columns
    seg = CountingSegmenter(thresholds=(0.8, 0.2, 0.5))  # 2, 8 and 5 columns, in that order
    stack = _provider(seg, num_masks=4).stack_for(img)
    assert stack.shape == (4, 12, 10) and stack.dtype == np.float32
    assert [int(c.sum()) // 12 for c in stack] == [8, 5, 2, 0]  # largest first, one zero channel


def test_lru_serves_repeats_and_evicts_the_least_recent(counting_segmenter):
    a, b = gradient_image(seed=1), gradient_image(seed=2)
    p = _provider(counting_segmenter, lru_size=1)
    first = p.stack_for(a)
    np.testing.assert_array_equal(p.stack_for(a), first)
    assert counting_segmenter.calls == 1 and p.stats["lru_hits"] == 1
    p.stack_for(b)
    p.stack_for(a)  # evicted by b (size 1), segmented again (no disk cache here)
    assert counting_segmenter.calls == 3
    roomy = _provider(CountingSegmenter(), lru_size=2)
    for img in (a, b, a, b):
        roomy.stack_for(img)
    assert roomy.segmenter.calls == 2


def test_lru_does_not_mix_up_images_with_different_pixels(counting_segmenter):
    p = _provider(counting_segmenter)
    bright = np.full((6, 8, 3), 0.9, np.float32)
    dark = np.full((6, 8, 3), 0.1, np.float32)
    assert p.stack_for(bright).sum() == 3 * 48 and p.stack_for(dark).sum() == 0


def test_sources_pick_lq_or_gt_and_restored_needs_a_subclass(counting_segmenter):
    lq = np.full((4, 4, 3), 0.3, np.float32)
    gt = np.full((4, 4, 3), 0.9, np.float32)
    cfg = PriorsConfig(num_masks=4, drop_full_masks=False)  # the fake's masks cover the whole 4x4 image
    out = PriorProvider(cfg, segmenter=counting_segmenter, source="gt", cache=False).masks_for_pair(0, None, lq, gt)
    assert counting_segmenter.seen_means == [pytest.approx(0.9)] and out.sum() == 3 * 16
    with pytest.raises(NotImplementedError, match="image_for_source"):
        _provider(CountingSegmenter(), source="restored").masks_for_pair(0, None, lq, gt)

    class Restored(PriorProvider):
        def image_for_source(self, index, lq_img, gt_img):
            return np.full_like(lq_img, 0.6)

    seg = CountingSegmenter()
    Restored(PriorsConfig(num_masks=3), segmenter=seg, source="restored", cache=False).masks_for_pair(0, None, lq, gt)
    assert seg.seen_means == [pytest.approx(0.6)]
    with pytest.raises(ValueError, match="prior source"):
        PriorProvider(source="sam")


def test_pickled_copy_for_workers_starts_with_an_empty_lru(tmp_path, counting_segmenter):
    p = _provider(counting_segmenter, cache=MaskCache(tmp_path))
    p.stack_for(gradient_image())
    clone = pickle.loads(pickle.dumps(p))
    assert len(clone._lru) == 0 and clone.stats["lru_hits"] == 0
    clone.stack_for(gradient_image())
    assert clone.stats["cache_hits"] == 1 and clone.segmenter.calls == 1  # disk cache, not recomputed


def test_segmenter_of_the_wrong_size_is_an_error():
    class Wrong(CountingSegmenter):
        def __call__(self, image):
            return super().__call__(image[:-1])

    with pytest.raises(ValueError, match="11x16 masks for a 12x16 image"):
        _provider(Wrong()).stack_for(gradient_image())


def test_default_provider_builds_the_offline_segmenter_lazily(tmp_path):
    p = PriorProvider(PriorsConfig(backend="offline", num_masks=2, cache_dir=str(tmp_path)))
    assert p._segmenter is None
    stack = p.stack_for(gradient_image())
    assert stack.shape == (2, 12, 16) and p.fingerprint()["backend"] == "offline"
    assert list(tmp_path.rglob("*.json"))  # written to the configured cache_dir


def test_dataset_workers_get_masks_cropped_with_their_image(tmp_path):
    from PIL import Image
    from torch.utils.data import DataLoader

    from samdistill.data.config import DatasetConfig
    from samdistill.data.paired import PairedImageDataset

    for sub in ("lq", "gt"):
        (tmp_path / sub).mkdir()
        for i in range(4):
            img = (gradient_image(16, 20, seed=i) * 255).round().astype(np.uint8)
            Image.fromarray(img).save(tmp_path / sub / f"p{i}.png")
    ds_cfg = DatasetConfig(layout="folders", root=str(tmp_path), lq_dir="lq", gt_dir="gt")
    seg = CountingSegmenter(thresholds=(0.8, 0.2, 0.5))
    cfg = PriorsConfig(num_masks=4, select="image")  # crop ranking: tests/priors/test_priors_selection.py
    provider = PriorProvider(cfg, segmenter=seg, cache=MaskCache(tmp_path / "cache"))
    ds = PairedImageDataset(ds_cfg, crop_size=8, prior_provider=provider)
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    for batch in batches:
        red = batch["lq"][:, 0]
        masks = batch["masks"]
        assert masks.shape == (2, 4, 8, 8)
        for k, t in enumerate((0.2, 0.5, 0.8)):  # area order of the full image
            assert (masks[:, k].bool() == (red > t)).all()
        assert not masks[:, 3].any()
    assert len(list((tmp_path / "cache").rglob("p*.json"))) == 0  # entries are named by content hash
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 4 + 1  # 4 images + fingerprint.json
