"""CTCF and the SSA majority vote on a hand-made 6x6 prediction with 4 SAM masks (answers by hand)."""
import inspect

import numpy as np
import pytest
import torch

from samdistill.goodsam.ctcf import (CTCFConfig, ctcf, ctcf_batch, mask_coverage, mask_majority_vote,
                                      mask_majority_vote_batch)
from samdistill.priors.maskset import MaskSet

I = 255
TA = torch.tensor([
    [0, 0, 0, 1, 1, 1],
    [0, 0, 0, 1, 1, 0],
    [0, 0, 0, 0, 0, 2],
    [2, 2, 2, 1, 1, 2],
    [2, 2, I, I, 1, 1],
    [1, 1, 1, 2, 2, I],
])


def _box(r0, r1, c0, c1):
    m = torch.zeros(6, 6, dtype=torch.bool)
    m[r0:r1 + 1, c0:c1 + 1] = True
    return m


# M_C rows 0-2 (18 px): 0 x12, 1 x5, 2 x1 -> class 0, ratio 12/18
# M_B rows 0-1, cols 3-5 (6 px, inside M_C): 1 x5, 0 x1 -> class 1, ratio 5/6
# M_A rows 3-4 (12 px, 2 ignore): counted 10 = 2 x6, 1 x4 -> class 2, ratio 6/10 = 0.6 exactly
#     (6/12 = 0.5 if the ignore pixels were counted)
# M_D rows 4-5, cols 3-5 (6 px, overlaps M_A): counted 4 = 1 x2, 2 x2 -> tie, class 1, ratio 0.5
MASKS = torch.stack([_box(0, 2, 0, 5), _box(0, 1, 3, 5), _box(3, 4, 0, 5), _box(4, 5, 3, 5)])


def test_coverage_ratios_skip_ignore_pixels():
    r = mask_coverage(TA, MASKS, 3)
    assert torch.allclose(r, torch.tensor([[12 / 18, 5 / 18, 1 / 18], [1 / 6, 5 / 6, 0],
                                           [0, 0.4, 0.6], [0, 0.5, 0.5]]))


def test_ctcf_hand_example_small_on_top():
    f = ctcf(TA, MASKS, theta=0.6, num_classes=3)
    assert f.mask_class.tolist() == [0, 1, 2, 1]
    assert f.decided.tolist() == [True, True, True, False]  # M_A decides at exactly theta
    assert torch.allclose(f.mask_ratio, torch.tensor([12 / 18, 5 / 6, 0.6, 0.5]))
    assert f.labels.tolist() == [
        [0, 0, 0, 1, 1, 1],  # M_B (smaller) painted over M_C
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 0, 0, 0],
        [2, 2, 2, 2, 2, 2],  # M_A
        [2, 2, 2, I, 1, 1],  # M_A fills its ignore pixel; undecided M_D on top keeps the TA
        [1, 1, 1, 2, 2, I],  # no mask / M_D: TA labels
    ]
    assert f.weight.tolist() == [[1.0] * 6] * 4 + [[1, 1, 1, 0, 0, 0], [0] * 6]
    assert f.high_conf.tolist() == f.labels.tolist()[:4] + [[2, 2, 2, I, I, I], [I] * 6]
    assert f.labels.dtype == torch.int64 and f.weight.dtype == torch.float32


def test_theta_just_above_the_ratio_leaves_the_mask_undecided():
    f = ctcf(TA, MASKS, theta=0.61, num_classes=3)
    assert f.decided.tolist() == [True, True, False, False]
    assert f.labels[3:5].tolist() == TA[3:5].tolist()
    assert f.weight[3:5].sum() == 0


def test_large_on_top_and_skip():
    f = ctcf(TA, MASKS, theta=0.6, num_classes=3, order="large_on_top")
    assert f.labels.tolist() == [[0] * 6] * 3 + [[2] * 6] * 2 + [[1, 1, 1, 2, 2, I]]
    assert f.weight.tolist() == [[1.0] * 6] * 5 + [[0] * 6]
    # skip: undecided M_D paints nothing, M_A shows through on row 4
    f = ctcf(TA, MASKS, theta=0.6, num_classes=3, undecided="skip")
    assert f.labels[4].tolist() == [2] * 6 and f.weight[4].tolist() == [1.0] * 6
    assert f.labels[5].tolist() == [1, 1, 1, 2, 2, I] and f.weight[5].sum() == 0


def test_unmasked_weight_options():
    f = ctcf(TA, MASKS, theta=0.6, num_classes=3, unmasked="one")
    assert f.weight[5].tolist() == [1, 1, 1, 0, 0, 0]  # cols 3-5 belong to the undecided M_D
    assert f.high_conf[5].tolist() == [1, 1, 1, I, I, I]
    probs = torch.tensor([[[0.95, 0.5, 0.0]], [[0.05, 0.5, 0.9]], [[0.0, 0.0, 0.1]]])  # (3, 1, 3)
    f = ctcf(probs, torch.zeros(0, 1, 3, dtype=torch.bool), num_classes=3, unmasked="confidence",
             confidence_threshold=0.9)
    assert f.labels.tolist() == [[0, 0, 1]]  # argmax, ties to the lowest id
    assert f.weight.tolist() == [[1, 0, 1]]  # 0.95 and 0.9 >= 0.9
    with pytest.raises(ValueError, match="probabilities"):
        ctcf(TA, MASKS, num_classes=3, unmasked="confidence")


def test_soft_coverage_uses_mean_probabilities():
    probs = torch.tensor([[[0.9, 0.2]], [[0.1, 0.8]]])  # (2 classes, 1, 2): argmax 0 and 1
    mask = torch.ones(1, 1, 2, dtype=torch.bool)
    soft = ctcf(probs, mask, theta=0.55, num_classes=2, coverage="soft")
    hard = ctcf(probs, mask, theta=0.55, num_classes=2)
    assert soft.decided.tolist() == [True] and soft.labels.tolist() == [[0, 0]]  # mean (0.55, 0.45)
    assert hard.decided.tolist() == [False]  # counts 1:1 -> 0.5


def test_mask_majority_vote_hand_example():
    # no threshold: M_D takes class 1 (tie 1 vs 2 -> lowest id) and, smaller than M_A, wins row 4
    assert mask_majority_vote(TA, MASKS, num_classes=3).tolist() == [
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 0, 0, 0],
        [2, 2, 2, 2, 2, 2],
        [2, 2, 2, 1, 1, 1],
        [1, 1, 1, 1, 1, 1],
    ]


def test_mask_of_ignore_pixels_only():
    ta = torch.tensor([[0, 0, I, I]])
    masks = torch.tensor([[[1, 1, 1, 1]], [[0, 0, 1, 1]]], dtype=torch.bool)
    assert mask_majority_vote(ta, masks).tolist() == [[0, 0, 0, 0]]  # the empty vote changes nothing
    f = ctcf(ta, masks)  # CTCF: the small undecided mask claims its pixels
    assert f.labels.tolist() == [[0, 0, I, I]] and f.weight.tolist() == [[1, 1, 0, 0]]
    assert f.mask_class.tolist() == [0, I]


def test_inputs_maskset_numpy_and_batch():
    ref = ctcf(TA, MASKS, theta=0.6, num_classes=3)
    ms = MaskSet(MASKS.numpy())
    f = ctcf(TA.numpy().astype(np.uint8), ms, theta=0.6, num_classes=3)
    assert torch.equal(f.labels, ref.labels) and torch.equal(f.weight, ref.weight)
    ta2 = torch.stack([TA, TA.flip(-1)])
    e, w, eh = ctcf_batch(ta2, [MASKS, MASKS.flip(-1)], theta=0.6, num_classes=3)
    assert torch.equal(e[0], ref.labels) and torch.equal(e[1], ref.labels.flip(-1))
    assert torch.equal(w[1], ref.weight.flip(-1)) and torch.equal(eh[0], ref.high_conf)
    assert torch.equal(mask_majority_vote_batch(ta2, [MASKS, MASKS.flip(-1)], num_classes=3)[1],
                       mask_majority_vote(TA, MASKS, num_classes=3).flip(-1))


def test_bad_inputs():
    with pytest.raises(ValueError, match="masks are"):
        ctcf(TA, MASKS[:, :5], num_classes=3)
    with pytest.raises(ValueError, match="outside 0..2"):
        ctcf(TA.masked_fill(TA == 0, 3), MASKS, num_classes=3)
    with pytest.raises(ValueError, match="2 mask stacks"):
        ctcf_batch(TA[None], [MASKS, MASKS])


def test_config_defaults_equal_function_defaults():
    sig = inspect.signature(ctcf).parameters
    for name, value in CTCFConfig().model_dump().items():
        assert sig[name].default == value, name


def test_masks_with_a_trusted_class_override_the_ta_vote():
    """SAM 3 masks carry a class: above `mask_class_threshold` it wins over the TA, below the TA votes."""
    ta = torch.zeros(4, 4, dtype=torch.long)  # the TA says class 0 everywhere
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[0, :2], masks[1, 2:, :2], masks[2, 2:, 2:] = True, True, True
    own, score = torch.tensor([5, 7, -1]), torch.tensor([0.9, 0.3, float("nan")])
    f = ctcf(ta, masks, num_classes=19, own_class=own, own_score=score, mask_class_threshold=0.5)
    assert (f.labels[:2] == 5).all() and (f.labels[2:] == 0).all()  # mask 1's score is too low, mask 2 has no class
    assert f.decided.tolist() == [True, True, True] and (f.weight == 1).all()
    plain = ctcf(ta, masks, num_classes=19, own_class=own, own_score=score)  # no threshold: classes ignored
    assert (plain.labels == 0).all()
    with pytest.raises(ValueError, match="2 mask classes"):
        ctcf(ta, masks, num_classes=19, own_class=own[:2], own_score=score[:2], mask_class_threshold=0.5)
