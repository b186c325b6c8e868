"""Offline segmenter properties and how build_segmenter picks SAM or the offline stand-in."""
import logging

import numpy as np
import pytest

from samdistill.config.loader import ConfigError
from samdistill.priors import segmenter as segmenter_module
from samdistill.priors.config import OfflineSegmenterConfig, PriorsConfig
from samdistill.priors.offline import OfflineSegmenter
from samdistill.priors.segmenter import build_segmenter, segment_batch


def _two_region_image():
    rng = np.random.default_rng(1)
    img = np.zeros((24, 32, 3), np.float32)
    img[:, :16] = [0.9, 0.1, 0.1]
    img[:, 16:] = [0.1, 0.2, 0.9]
    return np.clip(img + rng.normal(0, 0.02, img.shape).astype(np.float32), 0, 1)


@pytest.mark.parametrize("method", ["felzenszwalb", "slic"])
def test_offline_masks_partition_the_image_and_are_deterministic(method):
    seg = OfflineSegmenter(OfflineSegmenterConfig(method=method, n_segments=6, min_size=20))
    img = _two_region_image()
    first, second = seg(img), seg(img.copy())
    assert first.size == (24, 32) and len(first) >= 2
    np.testing.assert_array_equal(first.masks.sum(axis=0), np.ones((24, 32)))  # no overlap, full cover
    np.testing.assert_array_equal(first.masks, second.masks)
    assert np.isnan(first.predicted_iou).all() and np.isnan(first.stability_score).all()
    if method == "felzenszwalb":  # (SLIC merges thin leftovers across edges when enforcing connectivity)
        # The color edge at column 16 separates segments: no mask straddles it.
        for m in first.masks:
            assert not (m[:, :16].any() and m[:, 16:].any())


def test_offline_fingerprint_names_method_and_changes_with_parameters():
    fp = OfflineSegmenter().fingerprint()
    assert fp["backend"] == "offline" and fp["method"] == "felzenszwalb" and fp["version"] == 1
    assert {"scale", "sigma", "min_size"} <= fp.keys()
    assert OfflineSegmenter(OfflineSegmenterConfig(scale=200)).fingerprint() != fp
    slic = OfflineSegmenter(OfflineSegmenterConfig(method="slic")).fingerprint()
    assert slic["method"] == "slic" and slic["n_segments"] == 32


def _nested_image():
    """Two big halves, each with a smaller square of a nearby color: parts inside objects."""
    rng = np.random.default_rng(2)
    img = np.zeros((48, 64, 3), np.float32)
    img[:, :32], img[:, 32:] = [0.8, 0.2, 0.2], [0.2, 0.3, 0.8]
    img[12:36, 8:24], img[12:36, 40:56] = [0.7, 0.25, 0.2], [0.25, 0.35, 0.7]
    return np.clip(img + rng.normal(0, 0.01, img.shape).astype(np.float32), 0, 1)


def test_extra_scales_add_overlapping_coarser_masks_like_sams_granularity():
    img = _nested_image()
    cfg = OfflineSegmenterConfig(scale=20, min_size=20)
    fine = OfflineSegmenter(cfg)(img)
    multi = OfflineSegmenter(cfg.model_copy(update={"extra_scales": [5000.0]}))(img)
    assert len(multi) > len(fine)
    for m in fine.masks:  # the base partition is kept whole
        assert any((m == n).all() for n in multi.masks)
    assert multi.masks.sum(axis=0).min() >= 1 and multi.masks.sum(axis=0).max() >= 2  # overlaps
    flat = multi.masks.reshape(len(multi), -1)
    assert len(np.unique(flat, axis=0)) == len(multi)  # a segment found at both scales appears once
    fp = OfflineSegmenter(cfg).fingerprint()
    assert "extra_scales" not in fp  # one-partition cache entries keep their key
    assert OfflineSegmenter(cfg.model_copy(update={"extra_scales": [5000.0]})).fingerprint()["extra_scales"] == [5000.0]
    with pytest.raises(ValueError, match="extra scale must be > 0"):
        OfflineSegmenterConfig(extra_scales=[100, 0])


def test_offline_rejects_non_rgb_or_uint8_input():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        OfflineSegmenter()(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        OfflineSegmenter()(np.zeros((8, 8, 3), np.uint8))


def test_auto_without_checkpoint_falls_back_to_offline_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="samdistill"):
        seg = build_segmenter(PriorsConfig())
    assert isinstance(seg, OfflineSegmenter)
    assert "no SAM checkpoint configured: using the offline felzenszwalb segmenter" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="samdistill"):
        build_segmenter(PriorsConfig(backend="offline"))
    assert "no SAM checkpoint" not in caplog.text  # an explicit choice is not a fallback


def test_backend_sam_without_checkpoint_names_the_key():
    with pytest.raises(ConfigError, match=r"priors\.sam\.checkpoint"):
        build_segmenter(PriorsConfig(backend="sam"))


def test_auto_with_checkpoint_builds_sam_from_the_sam_section(monkeypatch, tmp_path):
    built = []

    class FakeSam:
        def __init__(self, sam_cfg):
            built.append(sam_cfg)

    monkeypatch.setattr(segmenter_module, "_sam_segmenter_class", lambda: FakeSam)
    cfg = PriorsConfig(sam={"checkpoint": str(tmp_path / "sam_vit_b.pth")})
    assert isinstance(build_segmenter(cfg), FakeSam)
    assert built[0].checkpoint == str(tmp_path / "sam_vit_b.pth")


def test_segment_batch_loops_when_there_is_no_batch_method(counting_segmenter):
    imgs = [np.full((4, 5, 3), v, np.float32) for v in (0.1, 0.6, 0.9)]
    out = segment_batch(counting_segmenter, imgs)
    assert [int(m.masks.sum()) for m in out] == [0, 40, 60] and counting_segmenter.calls == 3
