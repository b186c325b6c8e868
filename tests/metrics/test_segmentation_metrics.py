"""Confusion-matrix metrics against hand-computed values and scikit-learn."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from samdistill.metrics.segmentation import ConfusionMatrix, confusion_matrix

# 3 classes, 4x4, two ignored pixels (255) in the bottom-right corner.
TARGET = np.array([[0, 0, 1, 1],
                   [0, 0, 1, 1],
                   [2, 2, 2, 2],
                   [2, 2, 255, 255]])
PRED = np.array([[0, 0, 1, 0],
                 [0, 1, 1, 1],
                 [2, 2, 2, 1],
                 [2, 0, 0, 1]])
# By hand, rows = target, columns = prediction (14 counted pixels):
#   t0: p0 = 3 (r0c0 r0c1 r1c0), p1 = 1 (r1c1)                  -> 4 pixels of class 0
#   t1: p0 = 1 (r0c3), p1 = 3 (r0c2 r1c2 r1c3)                  -> 4
#   t2: p0 = 1 (r3c1), p1 = 1 (r2c3), p2 = 4 (r2c0-2, r3c0)     -> 6
# predicted totals: p0 = 5, p1 = 5, p2 = 4; TP = 3, 3, 4
# IoU  = TP / (gt + pred - TP) = 3/6, 3/6, 4/6      -> mIoU = (1/2 + 1/2 + 2/3) / 3 = 5/9
# acc  = TP / gt = 3/4, 3/4, 4/6                     -> mean = 13/18; pixel acc = 10/14 = 5/7
# Dice = 2 TP / (gt + pred) = 6/9, 6/9, 8/10         -> mean = 32/45
HAND = np.array([[3, 1, 0], [1, 3, 0], [1, 1, 4]])


def test_hand_computed_three_class_example():
    cm = ConfusionMatrix(3).update(PRED, TARGET)
    np.testing.assert_array_equal(cm.matrix, HAND)
    s = cm.compute()
    np.testing.assert_allclose(s.iou, [1 / 2, 1 / 2, 2 / 3])
    assert s.miou == pytest.approx(5 / 9)
    np.testing.assert_allclose(s.class_acc, [3 / 4, 3 / 4, 4 / 6])
    assert s.mean_class_acc == pytest.approx(13 / 18)
    assert s.pixel_acc == pytest.approx(5 / 7)
    np.testing.assert_allclose(s.dice, [2 / 3, 2 / 3, 4 / 5])
    assert s.mean_dice == pytest.approx(32 / 45)


def test_ignore_index_pixels_never_count_even_with_wild_predictions():
    pred = PRED.copy()
    pred[3, 2:] = 255  # predictions under ignored targets are not checked or counted
    np.testing.assert_array_equal(confusion_matrix(pred, TARGET, 3), HAND)
    with pytest.raises(ValueError, match=r"pred holds ids outside 0..2 \(ignore 255\): \[7\]"):
        ConfusionMatrix(3).update(np.where(TARGET == 2, 7, PRED), TARGET)
    with pytest.raises(ValueError, match=r"target holds ids outside 0..2.*\[5\]"):
        ConfusionMatrix(3).update(PRED, np.where(TARGET == 255, 5, TARGET))
    counted = ConfusionMatrix(4, ignore_index=None).update(np.array([3, 0]), np.array([3, 3]))
    assert counted.matrix[3].tolist() == [1, 0, 0, 1]


def test_absent_classes_are_nan_and_left_out_of_means():
    # 4 classes: class 3 appears nowhere -> NaN, excluded; class 2 only predicted -> IoU 0, counted.
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    s = ConfusionMatrix(4).update(pred, target).compute()
    assert math.isnan(s.iou[3]) and math.isnan(s.dice[3]) and math.isnan(s.class_acc[3])
    assert s.iou[2] == 0 and math.isnan(s.class_acc[2])  # no ground truth of class 2
    np.testing.assert_allclose(s.iou[:3], [1 / 2, 1, 0])
    assert s.miou == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert s.mean_class_acc == pytest.approx((1 / 2 + 1) / 2)
    assert s.mean_dice == pytest.approx((2 / 3 + 1 + 0) / 3)
    d = ConfusionMatrix(4).update(pred, target).compute().as_dict(["a", "b", "c", "d"])
    assert d["per_class"]["d"] == {"iou": None, "acc": None, "dice": None}
    assert d["mIoU"] == pytest.approx(1 / 2)


def test_empty_matrix_is_all_nan():
    s = ConfusionMatrix(2).update(np.zeros((2, 2), np.int64), np.full((2, 2), 255)).compute()
    assert math.isnan(s.miou) and math.isnan(s.pixel_acc) and math.isnan(s.mean_dice)


def test_matches_sklearn_and_no_uint8_overflow():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 19, (2, 37, 41)).astype(np.uint8)
    target[rng.random(target.shape) < 0.1] = 255
    pred = rng.integers(0, 19, target.shape).astype(np.uint8)  # 19 * 18 + 18 = 360 > 255
    keep = target != 255
    expected = sk_confusion_matrix(target[keep], pred[keep], labels=np.arange(19))
    np.testing.assert_array_equal(confusion_matrix(pred, target, 19), expected)
    one = ConfusionMatrix(19).update(np.array([18], np.uint8), np.array([18], np.uint8)).matrix
    assert one[18, 18] == 1 and one.sum() == 1


def test_torch_numpy_and_mixed_inputs_agree():
    rng = np.random.default_rng(1)
    target = rng.integers(0, 5, (3, 8, 8))
    pred = rng.integers(0, 5, (3, 8, 8))
    target[0, 0] = 255
    ref = confusion_matrix(pred, target, 5)
    assert ref.sum() == 3 * 64 - 8
    np.testing.assert_array_equal(confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), 5), ref)
    np.testing.assert_array_equal(confusion_matrix(torch.from_numpy(pred), target, 5), ref)
    logits = torch.randn(3, 5, 8, 8)
    with pytest.raises(ValueError, match=r"pred shape \(3, 5, 8, 8\) differs from target shape \(3, 8, 8\)"):
        ConfusionMatrix(5).update(logits, torch.from_numpy(target))
    with pytest.raises(TypeError, match="integer class ids"):
        ConfusionMatrix(5).update(pred.astype(np.float32), target)


def test_merge_sums_partial_matrices():
    full = ConfusionMatrix(3).update(PRED, TARGET)
    top, bottom = ConfusionMatrix(3).update(PRED[:2], TARGET[:2]), ConfusionMatrix(3).update(PRED[2:], TARGET[2:])
    merged = ConfusionMatrix(3).merge(top).merge(torch.from_numpy(bottom.matrix))
    np.testing.assert_array_equal(merged.matrix, full.matrix)
    assert merged.compute().miou == pytest.approx(5 / 9)
    with pytest.raises(ValueError, match="cannot merge a 4-class matrix"):
        merged.merge(ConfusionMatrix(4))
    merged.reset()
    assert merged.matrix.sum() == 0
