"""Automatic mask generation and the SamSegmenter contract on a tiny random SAM."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from scipy import ndimage

from samdistill.config.loader import ConfigError
from samdistill.priors.config import AMGConfig, SAMConfig
from samdistill.priors.sam import MaskGenerator, SamSegmenter
from samdistill.priors.sam.nms import generate_crop_boxes

from tiny_sam import make_test_image

KEEP_ALL = dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)


def run(predictor, image=None, **params):
    return MaskGenerator(predictor, AMGConfig(**params))(make_test_image() if image is None else image)


def test_masks_have_image_size_and_scores(tiny_predictor):
    image = make_test_image(40, 56)
    result = run(tiny_predictor, image, **KEEP_ALL)
    assert len(result) > 10
    assert result.masks.shape[1:] == (40, 56) and result.masks.dtype == bool
    assert result.predicted_iou.shape == result.stability_score.shape == (len(result),)
    assert np.all((result.stability_score >= 0) & (result.stability_score <= 1))
    assert result.area.min() > 0  # empty masks are dropped


def test_two_runs_are_identical(tiny_predictor):
    a = run(tiny_predictor, points_per_side=6, pred_iou_thresh=0.3, stability_score_thresh=0.3)
    b = run(tiny_predictor, points_per_side=6, pred_iou_thresh=0.3, stability_score_thresh=0.3)
    assert len(a) > 0
    assert np.array_equal(a.masks, b.masks)
    assert np.array_equal(a.predicted_iou, b.predicted_iou)
    assert np.array_equal(a.stability_score, b.stability_score)


def test_filters_remove_masks(tiny_predictor):
    everything = run(tiny_predictor, **KEEP_ALL)
    strict = run(tiny_predictor, **dict(KEEP_ALL, pred_iou_thresh=0.5, stability_score_thresh=0.6))
    assert len(everything) == 3 * 36  # 3 masks per point, nothing filtered, no NMS
    assert len(strict) < len(everything)
    assert np.all(strict.predicted_iou > 0.5) and np.all(strict.stability_score >= 0.6)
    nms = run(tiny_predictor, **dict(KEEP_ALL, box_nms_thresh=0.7))
    assert 0 < len(nms) < len(everything)


def test_impossible_thresholds_give_no_masks(tiny_predictor):
    cfg = AMGConfig(points_per_side=4).model_copy(update=dict(pred_iou_thresh=1.01, stability_score_thresh=1.01))
    result = MaskGenerator(tiny_predictor, cfg)(make_test_image(40, 56))
    assert len(result) == 0 and result.masks.shape == (0, 40, 56)
    cfg = AMGConfig(points_per_side=4, pred_iou_thresh=0.0).model_copy(update=dict(stability_score_thresh=1.01))
    assert len(MaskGenerator(tiny_predictor, cfg)(make_test_image(40, 56))) == 0


def test_stability_computed_late_equals_computed_early(tiny_predictor):
    late = run(tiny_predictor, **KEEP_ALL)  # no stability filter: scored after NMS
    early = run(tiny_predictor, **dict(KEEP_ALL, stability_score_thresh=1e-6))  # scored before
    assert len(early) > 0
    late_by_mask = {m.tobytes(): s for m, s in zip(late.masks, late.stability_score)}
    for mask, score in zip(early.masks, early.stability_score):
        assert late_by_mask[mask.tobytes()] == score


def test_crop_layers_encode_every_crop_and_filter_inner_edges(tiny_predictor, monkeypatch):
    image = make_test_image(96, 128)
    encoded = []
    encode = tiny_predictor.encode
    monkeypatch.setattr(tiny_predictor, "encode", lambda crop: encoded.append(tuple(crop.shape[1:])) or encode(crop))
    params = dict(KEEP_ALL, crop_n_layers=1, crop_nms_thresh=1.0, crop_n_points_downscale_factor=2)
    result = run(tiny_predictor, image, **params)
    boxes, _ = generate_crop_boxes((96, 128), 1, AMGConfig().crop_overlap_ratio)
    assert encoded == [(y1 - y0, x1 - x0) for x0, y0, x1, y1 in boxes]  # whole image + 4 crops
    assert result.masks.shape[1:] == (96, 128)
    whole = run(tiny_predictor, image, **KEEP_ALL)
    for mask in result.masks:  # a mask from a crop never comes within 20 px of an inner crop edge
        if not any(np.array_equal(mask, w) for w in whole.masks):
            ys, xs = np.nonzero(mask)
            assert any(_inside_away_from_inner_edges(xs, ys, box, (96, 128)) for box in boxes[1:])


def _inside_away_from_inner_edges(xs, ys, box, size) -> bool:
    x0, y0, x1, y1 = box
    inside = xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1
    far = ((x0 == 0 or xs.min() - x0 > 20) and (y0 == 0 or ys.min() - y0 > 20)
           and (x1 == size[1] or x1 - xs.max() > 20) and (y1 == size[0] or y1 - ys.max() > 20))
    return inside and far


def test_small_region_cleanup(tiny_predictor):
    area = 30
    raw = run(tiny_predictor, **KEEP_ALL)
    cleaned = run(tiny_predictor, **dict(KEEP_ALL, min_mask_region_area=area))

    def has_small_parts(mask):
        for part in (mask, ~mask):
            labels, n = ndimage.label(part, structure=np.ones((3, 3)))
            sizes = np.bincount(labels.ravel())[1:]
            if part is mask and n == 1:
                continue  # a lone island is kept whatever its size
            if (sizes < area).any():
                return True
        return False

    assert any(has_small_parts(m) for m in raw.masks)
    assert len(cleaned) > 0 and not any(has_small_parts(m) for m in cleaned.masks)


def test_segmenter_contract_and_fingerprint(tiny_sam_files):
    cfg = SAMConfig(checkpoint=str(tiny_sam_files["pth"]), device="cpu", amg=AMGConfig(**KEEP_ALL))
    seg = SamSegmenter(cfg)
    fp = seg.fingerprint()
    assert seg._generator is None  # fingerprinting does not load the model
    sha = hashlib.sha256(tiny_sam_files["pth"].read_bytes()).hexdigest()
    assert fp["backend"] == "sam" and fp["checkpoint_sha256"] == {"sam_tiny.pth": sha}
    assert fp["amg"]["points_per_side"] == 6 and fp["dtype"] == "float32" and fp["variant"] == "custom"
    other = SamSegmenter(cfg.model_copy(update={"amg": AMGConfig(**dict(KEEP_ALL, box_nms_thresh=0.5))}))
    assert other.fingerprint() != fp
    hf_fp = SamSegmenter(cfg.model_copy(update={"checkpoint": str(tiny_sam_files["hf"])})).fingerprint()
    assert set(hf_fp["checkpoint_sha256"]) == {"config.json", "model.safetensors"}
    image = make_test_image(40, 56)
    result = seg(image)
    assert result.masks.shape[1:] == (40, 56) and len(result) > 0
    assert [len(r) for r in seg.batch([image, image[:20]])] == [len(result), len(seg(image[:20]))]
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        seg(image[..., 0])


def test_segmenter_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint"):
        SamSegmenter(SAMConfig())
    with pytest.raises(ConfigError, match="device"):
        SamSegmenter(SAMConfig(checkpoint=str(tmp_path), device="nonsense"))


def test_sam_hq_directory(tmp_path):
    from samdistill.priors.sam import SamPredictor, load_sam
    from tiny_sam import tiny_sam_hq_model

    tiny_sam_hq_model().save_pretrained(tmp_path / "hq")
    model, info = load_sam(tmp_path / "hq")
    assert (info.model_type, type(model).__name__) == ("sam_hq", "SamHQModel")
    predictor = SamPredictor(model)
    image = make_test_image(40, 56)
    low_res, iou = predictor.decode_points(predictor.encode(predictor.to_tensor(image)), torch.ones(5, 2))
    assert low_res.shape == (5, 3, 16, 16) and iou.shape == (5, 3)
    result = run(predictor, image, **dict(KEEP_ALL, points_per_side=2))
    assert result.masks.shape[1:] == (40, 56) and len(result) > 0


def test_bfloat16_autocast_is_close_to_float32(tiny_sam_files):
    from samdistill.priors.sam import SamPredictor, load_sam

    model, _ = load_sam(tiny_sam_files["hf"])
    params = dict(KEEP_ALL, points_per_side=2)
    full = run(SamPredictor(model, torch.float32), **params)
    half = run(SamPredictor(model, torch.bfloat16), **params)
    assert len(full) == len(half) == 12 and half.predicted_iou.dtype == np.float32
    np.testing.assert_allclose(half.predicted_iou, full.predicted_iou, atol=0.03)
    assert not np.array_equal(half.predicted_iou, full.predicted_iou)  # bf16 really ran
