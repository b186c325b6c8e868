"""SA-1B-style mask cache: round trips, keys, corrupt entries, atomic writes."""
import json
import logging

import numpy as np
import pytest

from samdistill.core import atomic as atomic_module  # the cache writes through core's atomic writer
from samdistill.priors import cache as cache_module
from samdistill.priors.cache import MaskCache, image_hash
from samdistill.priors.maskset import MaskSet
from samdistill.priors.provider import PriorProvider

from priors_fakes import CountingSegmenter, gradient_image

FP = {"backend": "fake", "threshold": 0.5}


def _random_maskset(n=5, h=9, w=13, seed=0):
    rng = np.random.default_rng(seed)
    masks = rng.random((n, h, w)) < 0.3
    masks[-1] = False  # an empty mask too
    ious = rng.random(n).astype(np.float32)
    ious[1] = np.nan
    return MaskSet(masks, ious, rng.random(n))


def test_round_trip_keeps_masks_and_scores(tmp_path):
    cache = MaskCache(tmp_path)
    ms = _random_maskset()
    path = cache.put("ab" * 32, FP, ms)
    back = cache.get("ab" * 32, FP)
    np.testing.assert_array_equal(back.masks, ms.masks)
    np.testing.assert_array_equal(back.predicted_iou, ms.predicted_iou)  # NaN stays NaN
    np.testing.assert_allclose(back.stability_score, ms.stability_score, rtol=1e-6)
    entry = json.loads(path.read_text())
    ann = entry["annotations"][0]
    assert entry["image"] == {"height": 9, "width": 13, "hash": "ab" * 32}
    assert isinstance(ann["segmentation"]["counts"], str) and ann["area"] == int(ms.masks[0].sum())
    assert ann["bbox"] == [int(v) for v in ms.bbox[0]]
    assert path.parent.name == "ab" and (path.parent.parent / "fingerprint.json").is_file()


def test_empty_maskset_round_trips(tmp_path):
    cache = MaskCache(tmp_path)
    cache.put("cd" * 32, FP, MaskSet.empty(3, 4))
    back = cache.get("cd" * 32, FP)
    assert len(back) == 0 and back.size == (3, 4)


def test_image_hash_depends_on_pixels_and_shape_not_on_the_array_object():
    img = gradient_image()
    assert image_hash(img) == image_hash(img.copy())
    assert image_hash(img) != image_hash(img.reshape(16, 12, 3))
    other = img.copy()
    other[0, 0, 0] += 1e-3
    assert image_hash(img) != image_hash(other)


def test_changed_fingerprint_is_a_miss(tmp_path):
    cache = MaskCache(tmp_path)
    cache.put("ab" * 32, FP, _random_maskset())
    assert cache.get("ab" * 32, {**FP, "threshold": 0.6}) is None
    assert cache.path_for("ab" * 32, FP) != cache.path_for("ab" * 32, {**FP, "checkpoint_sha256": "x"})


def _provider(tmp_path, seg):
    return PriorProvider(segmenter=seg, cache=MaskCache(tmp_path), lru_size=0)


@pytest.mark.parametrize("damage", ["truncate", "not_json_object", "wrong_rle_size", "bad_counts",
                                    "wrong_area", "missing_field", "other_fingerprint"])
def test_damaged_entry_is_reported_deleted_and_recomputed(tmp_path, caplog, damage):
    seg = CountingSegmenter()
    provider = _provider(tmp_path, seg)
    img = gradient_image()
    first = provider.masks_for(img)
    path = provider.cache.path_for(image_hash(img), seg.fingerprint())
    entry = json.loads(path.read_text())
    ann = entry["annotations"][0]
    if damage == "truncate":
        text = path.read_text()[: len(path.read_text()) // 2]
    else:
        if damage == "not_json_object":
            entry = [entry]
        elif damage == "wrong_rle_size":
            ann["segmentation"]["size"] = [12, 15]
        elif damage == "bad_counts":
            ann["segmentation"]["counts"] = ann["segmentation"]["counts"][:-1] + "0"
        elif damage == "wrong_area":
            ann["area"] += 1
        elif damage == "missing_field":
            del ann["stability_score"]
        elif damage == "other_fingerprint":
            entry["segmenter"] = {"backend": "someone else"}
        text = json.dumps(entry)
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="samdistill"):
        again = provider.masks_for(img)
    assert seg.calls == 2  # recomputed, not silently used
    assert str(path) in caplog.text and "unusable" in caplog.text
    np.testing.assert_array_equal(again.masks, first.masks)
    assert provider.cache.get(image_hash(img), seg.fingerprint()) is not None  # rewritten, valid


def test_valid_entry_is_used_without_recomputing(tmp_path):
    seg = CountingSegmenter()
    img = gradient_image()
    _provider(tmp_path, seg).masks_for(img)
    _provider(tmp_path, seg).masks_for(img)  # a fresh provider: only the disk cache is shared
    assert seg.calls == 1


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    cache = MaskCache(tmp_path)
    real_replace = atomic_module.os.replace

    def crash(src, dst):
        if str(dst).endswith("ef" * 32 + ".json"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        cache.put("ef" * 32, FP, _random_maskset())
    target = cache.path_for("ef" * 32, FP)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == []  # temporary file removed too


def test_top_decodes_only_the_largest_masks_largest_first(tmp_path):
    cache = MaskCache(tmp_path)
    ms = _random_maskset(n=6, seed=3)
    cache.put("ab" * 32, FP, ms)
    top = cache.get("ab" * 32, FP, top=3)
    best = ms.sorted_by_area()
    np.testing.assert_array_equal(top.masks, best.masks[:3])
    np.testing.assert_array_equal(top.predicted_iou, best.predicted_iou[:3])


def test_has_valid_checks_the_entry_and_removes_a_bad_one(tmp_path, caplog):
    cache = MaskCache(tmp_path)
    assert not cache.has_valid("ab" * 32, FP)
    path = cache.put("ab" * 32, FP, _random_maskset())
    assert cache.has_valid("ab" * 32, FP)
    entry = json.loads(path.read_text())
    entry["annotations"][2]["bbox"][0] += 1
    path.write_text(json.dumps(entry))
    with caplog.at_level(logging.WARNING, logger="samdistill"):
        assert not cache.has_valid("ab" * 32, FP)
    assert "annotation 2: stored bbox" in caplog.text and not path.exists()


def _true_runs(mask):
    """Run lengths of a mask in COCO order (column by column, starting with a run of zeros)."""
    flat = mask.T.ravel().astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    return np.concatenate([[0], runs]) if flat[0] else runs


def _varied_masks(rng, h, w):
    densities = rng.choice([0.02, 0.3, 0.97], size=12)
    masks = np.stack([rng.random((h, w)) < d for d in densities] + [
        np.zeros((h, w), bool), np.ones((h, w), bool), np.eye(h, w, dtype=bool)])
    masks[3, : h // 2] = True  # long runs: multi-chunk numbers, negative differences
    return masks


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools under NumPy 2
@pytest.mark.parametrize("h, w", [(1, 1), (7, 5), (40, 33), (300, 2)])
def test_batched_run_lengths_match_single_numpy_truth_and_pycocotools(h, w):
    masks = _varied_masks(np.random.default_rng(h * w), h, w)
    counts = [rle["counts"].decode("ascii") for rle in cache_module.encode_masks(masks)]
    runs, offsets = cache_module.rle_run_lengths_many(counts)
    for i, (mask, text) in enumerate(zip(masks, counts)):
        mine = runs[offsets[i]: offsets[i + 1]]
        np.testing.assert_array_equal(mine, _true_runs(mask))
        np.testing.assert_array_equal(cache_module.rle_run_lengths(text), mine)
    decoded = cache_module.runs_to_masks(runs, offsets, np.arange(len(masks)), h, w)
    coco = cache_module.coco_mask.decode(cache_module.encode_masks(masks)).transpose(2, 0, 1)
    np.testing.assert_array_equal(decoded, masks)
    np.testing.assert_array_equal(decoded, coco.astype(bool))
    assert decoded.flags.c_contiguous


def test_run_lengths_of_no_strings_and_of_empty_strings():
    runs, offsets = cache_module.rle_run_lengths_many(["", "1", ""])
    assert runs.tolist() == [1] and offsets.tolist() == [0, 0, 1, 1]
    assert cache_module.rle_run_lengths_many([])[1].tolist() == [0]


@pytest.mark.parametrize("damage, message", [
    ("extra_run", "annotation 99: RLE runs do not cover"),
    ("other_mask", "annotation 99: stored area"),
    ("outside_alphabet", "annotation 99: RLE counts contain characters outside"),
    ("unfinished_number", "annotation 99: RLE counts end in the middle"),
    ("bbox", "annotation 99: stored bbox"),
    ("short_bbox", "annotation 99: stored bbox"),
    ("size", "annotation 99: RLE size"),
    ("score", "annotation 99: predicted_iou 'high' is not a number"),
])
def test_damage_in_the_last_of_100_annotations_is_detected(tmp_path, caplog, damage, message):
    cache = MaskCache(tmp_path)
    path = cache.put("ab" * 32, FP, _random_maskset(n=100, h=11, w=8, seed=5))
    entry = json.loads(path.read_text())
    last, seg = entry["annotations"][-1], entry["annotations"][-1]["segmentation"]
    if damage == "extra_run":
        seg["counts"] += "1"
    elif damage == "other_mask":
        seg["counts"] = entry["annotations"][0]["segmentation"]["counts"]
    elif damage == "outside_alphabet":
        seg["counts"] += "~"
    elif damage == "unfinished_number":
        seg["counts"] += "P"  # continuation bit set, nothing follows
    elif damage in ("bbox", "short_bbox"):
        last["bbox"] = last["bbox"][:3] if damage == "short_bbox" else [1, 1, 1, 1]
    elif damage == "size":
        seg["size"] = [11, 9]
    elif damage == "score":
        last["predicted_iou"] = "high"
    path.write_text(json.dumps(entry))
    with caplog.at_level(logging.WARNING, logger="samdistill"):
        assert cache.get("ab" * 32, FP, top=4) is None
    assert message in caplog.text and not path.exists()
