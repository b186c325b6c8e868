"""Box / mask utilities of the automatic mask generator, on hand-made inputs with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from samdistill.priors.sam.nms import (box_nms, build_all_layer_point_grids, build_point_grid, count_above,
                                       generate_crop_boxes, is_box_near_crop_edge, logits_to_boxes,
                                       masks_to_boxes, stability_score, stability_score_in_boxes)
from samdistill.priors.sam.predictor import (PIXEL_MEAN, PIXEL_STD, preprocess, preprocess_shape, upscale_logits,
                                             upscale_logits_reference)
from samdistill.priors.sam.regions import remove_small_regions


def test_nms_suppresses_overlap_above_threshold():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 90 / 110 = 0.818
    assert box_nms(boxes, scores, 0.7).tolist() == [0, 2]
    assert box_nms(boxes, scores, 0.85).tolist() == [0, 1, 2]
    # the higher score wins, whatever the input order
    assert box_nms(boxes, torch.tensor([0.5, 0.8, 0.7]), 0.7).tolist() == [1, 2]


def test_nms_iou_equal_to_threshold_is_kept_and_ties_keep_input_order():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=torch.float32)  # IoU 0.5
    assert box_nms(boxes, torch.tensor([1.0, 1.0]), 0.5).tolist() == [0, 1]
    assert box_nms(boxes, torch.tensor([1.0, 1.0]), 0.49).tolist() == [0]
    assert box_nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


def test_stability_score_known_counts():
    # 3 logits above +1, 5 more above -1 -> masks of 3 and 8 pixels -> 3 / 8
    logits = torch.tensor([2.0] * 3 + [0.5] * 5 + [-3.0] * 8).reshape(1, 4, 4)
    assert stability_score(logits, 0.0, 1.0).item() == pytest.approx(3 / 8)
    # threshold shifts both cut points: > 1.5 has 3, > -0.5 has 8
    assert stability_score(logits, 0.5, 1.0).item() == pytest.approx(3 / 8)
    assert stability_score(logits, 0.0, 0.4).item() == pytest.approx(1.0)
    assert math.isnan(stability_score(torch.full((1, 4, 4), -5.0), 0.0, 1.0).item())


@pytest.mark.parametrize("threshold,offset", [(0.0, 1.0), (0.3, 0.7), (-0.2, 0.05)])
def test_stability_in_boxes_equals_full_count(threshold, offset):
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 30, 40, generator=gen) - 2.5  # sparse blobs above the cut points
    logits[1] = -9  # nothing above either threshold -> NaN
    logits[2, 5:9, 10:30] = 3.0  # a bar
    fast = stability_score_in_boxes(logits, logits.amax(-1), logits.amax(-2), threshold, offset)
    full = stability_score(logits, threshold, offset)
    assert torch.equal(torch.isnan(fast), torch.isnan(full)) and torch.isnan(full[1])
    ok = ~torch.isnan(full)
    assert torch.equal(fast[ok], full[ok])


def test_count_above_matches_naive_sum():
    x = torch.randn(3, 17, 23)
    assert count_above(x, 0.3).tolist() == [int((m > 0.3).sum()) for m in x]


def test_masks_to_boxes_known_mask_and_empty():
    masks = torch.zeros(2, 8, 10, dtype=torch.bool)
    masks[0, 2:5, 1:7] = True  # rows 2..4, cols 1..6
    masks[0, 6, 3] = True  # a stray pixel extends the box down to row 6
    assert masks_to_boxes(masks).tolist() == [[1, 2, 6, 6], [0, 0, 0, 0]]


def test_logits_to_boxes_equals_thresholded_masks():
    logits = torch.randn(5, 12, 9) - 1.0
    logits[4] = -10  # empty
    boxes, nonempty = logits_to_boxes(logits, 0.0)
    assert torch.equal(boxes, masks_to_boxes(logits > 0.0))
    assert nonempty.tolist() == [bool((m > 0).any()) for m in logits]
    assert not nonempty[4]


def test_point_grid_two_per_side():
    expected = [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]
    np.testing.assert_allclose(build_point_grid(2), expected)
    grids = build_all_layer_point_grids(4, 2, 2)
    assert [len(g) for g in grids] == [16, 4, 1]


def test_crop_boxes_one_layer():
    # short side 100, overlap int(512/1500 * 100) = 34, crop 117 x 67, offsets x (0, 83), y (0, 33)
    boxes, layers = generate_crop_boxes((100, 200), 1, 512 / 1500)
    assert boxes == [[0, 0, 200, 100], [0, 0, 117, 67], [0, 33, 117, 100], [83, 0, 200, 67], [83, 33, 200, 100]]
    assert layers == [0, 1, 1, 1, 1]
    assert generate_crop_boxes((100, 200), 0, 0.3) == ([[0, 0, 200, 100]], [0])


def test_near_crop_edge_ignores_image_edges():
    crop, image = [100, 0, 200, 100], [0, 0, 200, 200]  # the crop's top and right are image edges
    boxes = torch.tensor([[0, 30, 20, 40],  # within 20 px of the crop's left edge (x=100)
                          [40, 5, 60, 50],  # near the top, which is also the image's top edge
                          [85, 40, 99, 60],  # near the right, which is also the image's right edge
                          [40, 60, 60, 85],  # within 20 px of the crop's bottom (y=100)
                          [40, 40, 60, 60]])  # in the middle
    assert is_box_near_crop_edge(boxes, crop, image).tolist() == [True, False, False, True, False]


@pytest.mark.parametrize("original", [(48, 80), (80, 48), (64, 64), (37, 101), (130, 90)])
def test_fast_upscale_equals_sam_postprocess(original):
    low = torch.randn(3, 16, 16)
    input_size = preprocess_shape(*original, 64)
    fast = upscale_logits(low, 64, input_size, original)
    ref = upscale_logits_reference(low, 64, input_size, original)
    assert fast.shape == (3, *original)
    assert torch.equal(fast, ref)


def test_preprocess_shape_rounds_like_resize_longest_side():
    assert preprocess_shape(768, 1024, 1024) == (768, 1024)
    assert preprocess_shape(375, 500, 1024) == (768, 1024)
    assert preprocess_shape(333, 500, 1024) == (682, 1024)  # 681.98 -> 682


def test_preprocess_resizes_long_side_normalizes_and_pads_bottom_right():
    image = torch.full((3, 20, 40), 0.5)  # 0.5 * 255 = 127.5 -> rounds to 128
    pixels, size = preprocess(image, 64)
    assert size == (32, 64) and pixels.shape == (1, 3, 64, 64) and pixels.is_contiguous()
    expected = (128 - torch.tensor(PIXEL_MEAN)) / torch.tensor(PIXEL_STD)
    torch.testing.assert_close(pixels[0, :, :32, :].mean(dim=(1, 2)), expected)
    assert torch.all(pixels[0, :, 32:, :] == 0)


def test_remove_small_regions_fills_holes_and_drops_islands():
    mask = np.zeros((10, 10), bool)
    mask[1:7, 1:7] = True
    mask[3, 3] = False  # 1-pixel hole
    mask[8:10, 8] = True  # 2-pixel island
    filled, changed = remove_small_regions(mask, 3, "holes")
    assert changed and filled[3, 3] and filled.sum() == 36 + 2
    cleaned, changed = remove_small_regions(filled, 3, "islands")
    assert changed and cleaned.sum() == 36 and not cleaned[8:, 8].any()
    same, changed = remove_small_regions(cleaned, 3, "islands")
    assert not changed and np.array_equal(same, cleaned)
    # every island small: the largest survives
    tiny = np.zeros((6, 6), bool)
    tiny[0, 0] = True
    tiny[3:5, 3] = True
    kept, _ = remove_small_regions(tiny, 5, "islands")
    assert kept.sum() == 2 and kept[3, 3] and not kept[0, 0]
