"""DAR: window consistency losses and boundary enhancement on tiny hand-computed tensors."""
import inspect
import math

import pytest
import torch

from samdistill.goodsam.dar import (
    DARConfig, boundary_loss, class_boundaries, dilate, mask_boundaries, pairwise_consistency, refine_with_boundaries,
    refined_boundary_map, window_consistency_loss,
)
from samdistill.goodsam.windows import extract_windows, overlaps

I = 255
LN3 = math.log(3)


def _two_windows():
    # (B=1, C=2, H=1, w=2). Shared pixel: column 1 of i (p = 0.5, 0.5) = column 0 of j (p = 0.75, 0.25).
    # The other columns disagree wildly and must not count.
    li = torch.tensor([[[[9.0, 0.0]], [[-9.0, 0.0]]]], requires_grad=True)
    lj = torch.tensor([[[[LN3, -9.0]], [[0.0, 9.0]]]], requires_grad=True)
    return li, lj


def test_consistency_losses_by_hand():
    li, lj = _two_windows()
    # symmetric KL: ½[(0.5-0.75)(ln .5 - ln .75) + (0.5-0.25)(ln .5 - ln .25)] = ⅛ ln 3
    kl = window_consistency_loss(li, lj, [1], [0])
    assert math.isclose(kl.item(), LN3 / 8, rel_tol=1e-5)
    assert math.isclose(window_consistency_loss(li, lj, [1], [0], kind="mse").item(), 0.125, rel_tol=1e-5)
    assert math.isclose(window_consistency_loss(li, lj, [1], [0], kind="l1").item(), 0.5, rel_tol=1e-5)
    kl.backward()
    assert li.grad.abs().sum() > 0 and lj.grad.abs().sum() > 0  # both windows are trained
    assert li.grad[..., 0].abs().sum() == 0  # columns outside the overlap get nothing
    assert window_consistency_loss(li, lj, [], []).item() == 0.0
    with pytest.raises(ValueError, match="kind"):
        window_consistency_loss(li, lj, [1], [0], kind="js")


def test_pairwise_consistency_weights_pairs_by_shared_pixels():
    starts, width = [0, 3, 6, 9], 10
    pairs = overlaps(starts, 4, width)  # shared columns: 1, 3 (seam), 1, 1 -> 6 in all (H = 1)
    full = torch.randn(1, 2, 1, width)
    win = extract_windows(full, starts, 4, flat=False).clone()  # (1, 4, 2, 1, 4)
    assert pairwise_consistency(win, pairs).item() < 1e-7  # cut from one panorama: consistent
    # window 3's column 1 (= panorama column 0) now predicts p = (0.75, 0.25) vs p = (0.5, 0.5) in window 0
    win[0, 0, :, 0, 0] = 0.0
    win[0, 3, :, 0, 1] = torch.tensor([LN3, 0.0])
    per_pixel = LN3 / 8
    # only the seam pair disagrees, on 1 of its 3 shared pixels
    assert math.isclose(pairwise_consistency(win, pairs).item(), per_pixel / 6, rel_tol=1e-5)
    assert math.isclose(pairwise_consistency(win, pairs, reduction="sum").item(), per_pixel / 3, rel_tol=1e-5)
    with pytest.raises(ValueError, match="B, K"):
        pairwise_consistency(win.flatten(0, 1), pairs)


def test_mask_boundaries_inner_border_and_wrap():
    m = torch.zeros(1, 5, 5, dtype=torch.bool)
    m[0, 1:4, 1:4] = True
    ring = m[0].clone()
    ring[2, 2] = False
    assert torch.equal(mask_boundaries(m), ring)
    # a mask touching the image's left edge: the frame is no border, unless the panorama wraps
    e = torch.zeros(1, 3, 4, dtype=torch.bool)
    e[0, :, :3] = True
    assert mask_boundaries(e).tolist() == [[False, False, True, False]] * 3
    assert mask_boundaries(e, wrap=True).tolist() == [[True, False, True, False]] * 3
    assert not mask_boundaries(torch.zeros(0, 3, 4, dtype=torch.bool)).any()


def test_class_boundaries_ignore_and_wrap():
    assert class_boundaries(torch.tensor([[0, 0, 1, 1]])).tolist() == [[False, True, True, False]]
    assert class_boundaries(torch.tensor([[0, I, 1, 1]])).tolist() == [[False] * 4]
    assert class_boundaries(torch.tensor([[0, 0, 1, 1]]), wrap=True).tolist() == [[True] * 4]
    assert class_boundaries(torch.tensor([[0], [1]])).tolist() == [[True], [True]]


def test_dilate_band_and_wrap():
    x = torch.zeros(1, 7, dtype=torch.bool)
    x[0, 1] = True
    assert dilate(x, 2)[0].nonzero().flatten().tolist() == [0, 1, 2, 3]
    assert dilate(x, 2, wrap=True)[0].nonzero().flatten().tolist() == [0, 1, 2, 3, 6]
    assert torch.equal(dilate(x, 0), x)


def _row_masks(*spans, width=8):
    m = torch.zeros(len(spans), 1, width, dtype=torch.bool)
    for n, (a, b) in enumerate(spans):
        m[n, 0, a:b + 1] = True
    return m


def test_refine_with_boundaries_by_hand():
    # SAM: A = cols 0-2, B = cols 3-7 (border between 2 and 3); the blurry TA puts it between 4 and 5.
    ta = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1]])
    masks = _row_masks((0, 2), (3, 7))
    # majority: A -> 0 (3/3), B -> 1 (3 of 5). SAM borders: cols 2 and 3.
    assert refine_with_boundaries(ta, masks, band=1).tolist() == [[0, 0, 0, 1, 1, 1, 1, 1]]  # near: 1..4
    assert refine_with_boundaries(ta, masks, band=0).tolist() == [[0, 0, 0, 1, 0, 1, 1, 1]]  # near: 2, 3
    # CTCF with theta 0.7: B (0.6) is undecided and keeps the TA's labels
    assert refine_with_boundaries(ta, masks, band=1, fusion="ctcf", theta=0.7).tolist() == ta.tolist()
    # pixels in no mask keep the TA's label even next to a border
    assert refine_with_boundaries(ta, _row_masks((3, 7)), band=2).tolist() == [[0, 0, 0, 1, 1, 1, 1, 1]]
    assert refine_with_boundaries(ta, _row_masks((4, 7)), band=1).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]


def test_refined_boundary_map_modes():
    ta = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]])  # TA class border: cols 3, 4
    masks = _row_masks((0, 1), (2, 3), (4, 7))  # SAM also splits class 0 into two parts: borders 1, 2, 3, 4
    cols = lambda b: b[0].nonzero().flatten().tolist()  # noqa: E731
    assert cols(refined_boundary_map(masks, ta, mode="sam")) == [1, 2, 3, 4]
    assert cols(refined_boundary_map(masks, ta, mode="ta")) == [3, 4]
    assert cols(refined_boundary_map(masks, ta, mode="sam_and_ta", tolerance=0)) == [3, 4]
    assert cols(refined_boundary_map(masks, ta, mode="sam_and_ta", tolerance=1)) == [2, 3, 4]
    assert cols(refined_boundary_map(masks, ta, mode="union")) == [1, 2, 3, 4]


def test_boundary_loss_by_hand():
    # pixel 0: logits (0, 0), target 0 -> CE ln 2 ; pixel 1: logits (ln 3, 0), target 0 -> CE ln(4/3)
    # pixel 2: ignore
    logits = torch.tensor([[[[0.0, LN3, 5.0]], [[0.0, 0.0, -5.0]]]])
    target = torch.tensor([[[0, 0, I]]])
    boundary = torch.tensor([[True, False, True]])
    expect = (5 * math.log(2) + math.log(4 / 3)) / 6
    assert math.isclose(boundary_loss(logits, target, boundary, weight=5.0).item(), expect, rel_tol=1e-5)
    only = boundary_loss(logits, target, boundary, weight=1.0, background_weight=0.0)
    assert math.isclose(only.item(), math.log(2), rel_tol=1e-5)
    assert boundary_loss(logits, torch.full_like(target, I), boundary).item() == 0.0


def test_config_defaults_equal_function_defaults():
    cfg = DARConfig()
    assert inspect.signature(window_consistency_loss).parameters["kind"].default == cfg.consistency_kind
    assert inspect.signature(pairwise_consistency).parameters["reduction"].default == cfg.consistency_reduction
    ref = inspect.signature(refine_with_boundaries).parameters
    assert (ref["band"].default, ref["fusion"].default) == (cfg.boundary_band, cfg.boundary_fusion)
    bmap = inspect.signature(refined_boundary_map).parameters
    assert (bmap["mode"].default, bmap["tolerance"].default) == (cfg.boundary_map, cfg.boundary_tolerance)
    bl = inspect.signature(boundary_loss).parameters
    assert (bl["weight"].default, bl["background_weight"].default) == (cfg.boundary_weight,
                                                                       cfg.boundary_background_weight)
