"""The top-N side-car speeds up reads but never serves masks that the JSON entry does not hold."""
import numpy as np

from samdistill.priors.cache import MaskCache
from samdistill.priors.maskset import MaskSet
from samdistill.priors.topn_index import read_topn, sidecar_path


def _maskset(seed, n=6, size=12):
    rng = np.random.default_rng(seed)
    masks = rng.random((n, size, size)) < np.linspace(0.1, 0.9, n)[:, None, None]
    return MaskSet(masks, rng.random(n), np.full(n, np.nan))


def _same(a, b):
    assert np.array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.predicted_iou, b.predicted_iou)
    np.testing.assert_array_equal(np.isnan(a.stability_score), np.isnan(b.stability_score))


def test_second_read_comes_from_the_sidecar_and_equals_the_json(tmp_path):
    cache, fp = MaskCache(tmp_path), {"backend": "test"}
    path = cache.put("ab" * 32, fp, _maskset(0))
    first = cache.get("ab" * 32, fp, top=4)
    side = sidecar_path(path, 4)
    assert side.is_file()
    second = cache.get("ab" * 32, fp, top=4)
    _same(first, second)
    assert second.area.tolist() == sorted(second.area.tolist(), reverse=True)
    # the fast path really serves the second read: with JSON decoding broken, the side-car still answers
    import samdistill.priors.cache as cache_module

    original = cache_module.decode_entry

    def broken(*args, **kwargs):
        raise AssertionError("the JSON entry was decoded although the side-car holds the answer")

    cache_module.decode_entry = broken
    try:
        _same(cache.get("ab" * 32, fp, top=4), first)
    finally:
        cache_module.decode_entry = original


def test_damaged_or_stale_sidecar_is_ignored(tmp_path):
    cache, fp = MaskCache(tmp_path), {"backend": "test"}
    key = "cd" * 32
    path = cache.put(key, fp, _maskset(1))
    expected = cache.get(key, fp, top=3)
    side = sidecar_path(path, 3)
    intact = side.read_bytes()
    raw = path.read_bytes()
    assert read_topn(path, raw, 3) is not None
    side.write_bytes(intact[:-5])  # truncated bits
    assert read_topn(path, raw, 3) is None  # detected, not served
    _same(cache.get(key, fp, top=3), expected)
    side.write_bytes(intact[:-5] + bytes(b ^ 0xFF for b in intact[-5:]))  # same length, flipped mask bits
    assert read_topn(path, raw, 3) is None
    _same(cache.get(key, fp, top=3), expected)
    cache.put(key, fp, _maskset(2))  # the entry changes: the old side-car must not be used
    fresh = cache.get(key, fp, top=3)
    ref = MaskCache(tmp_path / "other")
    ref.put(key, fp, _maskset(2))
    _same(fresh, ref.get(key, fp, top=3))
