"""MKA losses on 2-pixel, 2-class examples computed by hand."""
import inspect
import math

import pytest
import torch

from samdistill.goodsam.mka import MKAConfig, feature_distillation, image_loss, make_projections, patch_loss

I = 255
LN2, LN3 = math.log(2), math.log(3)


def _logits(requires_grad=False):
    # (N=1, C=2, h=1, w=2): pixel a = (0, 0) -> p = (1/2, 1/2); pixel b = (ln 3, 0) -> p = (3/4, 1/4)
    return torch.tensor([[[[0.0, LN3]], [[0.0, 0.0]]]], requires_grad=requires_grad)


def test_patch_loss_by_hand():
    e = torch.tensor([[[0, 1]]])
    eh = torch.tensor([[[0, I]]])
    # CE(S, E) = (ln 2 + ln 4) / 2 = 1.5 ln 2 ; CE(S, E_H) over its own pixels = ln 2
    assert math.isclose(patch_loss(_logits(), e, eh).item(), 2.5 * LN2, rel_tol=1e-6)
    # "all": the E_H sum is divided by E's 2 labelled pixels -> ln2 / 2
    assert math.isclose(patch_loss(_logits(), e, eh, high_conf_norm="all").item(), 2.0 * LN2, rel_tol=1e-6)
    assert math.isclose(patch_loss(_logits(), e, eh, weight_e=2.0, weight_h=0.0).item(), 3.0 * LN2, rel_tol=1e-6)
    # no high-confidence pixel: the E_H term is 0, not NaN
    assert math.isclose(patch_loss(_logits(), e, torch.full_like(eh, I)).item(), 1.5 * LN2, rel_tol=1e-6)
    s = _logits(True)
    loss = patch_loss(s, torch.full_like(e, I), torch.full_like(eh, I))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(s.grad, torch.zeros_like(s))
    with pytest.raises(ValueError, match="do not match"):
        patch_loss(_logits(), torch.zeros(1, 1, 3, dtype=torch.long), eh)


def test_image_loss_hard_and_soft():
    s = _logits(True)
    ta = torch.tensor([[[[1.0, 5.0]], [[2.0, 0.0]]]], requires_grad=True)  # argmax: 1, 0
    # CE: pixel a -> ln 2, pixel b -> -ln(3/4)
    hard = image_loss(s, ta)
    assert math.isclose(hard.item(), (LN2 + math.log(4 / 3)) / 2, rel_tol=1e-6)
    hard.backward()
    assert ta.grad is None  # the TA is a target here
    # soft, T = 2: TA logits (2 ln 3, 0) / 2 -> (3/4, 1/4) ; student (0, 0) -> (1/2, 1/2)
    # T² KL = 4 (0.75 ln 1.5 + 0.25 ln 0.5)
    s2 = torch.zeros(1, 2, 1, 1)
    t2 = torch.tensor([2 * LN3, 0.0]).view(1, 2, 1, 1).requires_grad_()
    expect = 4 * (0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    soft = image_loss(s2.requires_grad_(), t2, kind="kl_soft", temperature=2.0)
    assert math.isclose(soft.item(), expect, rel_tol=1e-5)
    soft.backward()
    assert t2.grad is None and s2.grad.abs().sum() > 0
    assert image_loss(t2.detach(), t2, kind="kl_soft").abs().item() < 1e-7
    with pytest.raises(ValueError, match="same shape"):
        image_loss(s2, torch.zeros(1, 2, 2, 1))


def test_feature_distillation_by_hand():
    proj = make_projections([2, 1], [1, 1])
    assert [p.weight.shape for p in proj] == [(1, 2, 1, 1), (1, 1, 1, 1)]
    with torch.no_grad():
        for p in proj:
            p.weight.fill_(1.0)
            p.bias.zero_()
    student = [torch.ones(1, 2, 2, 2), torch.zeros(1, 1, 1, 1)]
    ta = [torch.full((1, 1, 4, 4), 3.0, requires_grad=True), torch.full((1, 1, 1, 1), 2.0)]
    # level 1: 1 + 1 = 2, resized 2x2 -> 4x4, vs 3: MSE 1 ; level 2: 0 vs 2: MSE 4 ; mean 2.5
    loss = feature_distillation(student, ta, proj)
    assert math.isclose(loss.item(), 2.5, rel_tol=1e-6)
    loss.backward()
    assert ta[0].grad is None and proj[0].weight.grad is not None
    with pytest.raises(ValueError, match="must be equal"):
        feature_distillation(student[:1], ta, proj)


def test_config_defaults_equal_function_defaults():
    cfg = MKAConfig()
    p = inspect.signature(patch_loss).parameters
    assert (p["weight_e"].default, p["weight_h"].default, p["high_conf_norm"].default) == \
        (cfg.weight_e, cfg.weight_h, cfg.high_conf_norm)
    i = inspect.signature(image_loss).parameters
    assert (i["kind"].default, i["temperature"].default) == (cfg.image_kind, cfg.temperature)


def test_class_weights_favour_rare_classes_and_keep_the_mean_pixel_weight():
    from samdistill.goodsam.mka import class_weights

    counts = torch.tensor([900.0, 100.0, 0.0])
    w = class_weights(counts, 0.5)
    assert w[2] == 0 and w[1] / w[0] == pytest.approx(3.0)  # (0.9 / 0.1) ** 0.5
    assert float((counts / counts.sum() * w).sum()) == pytest.approx(1.0)
    assert torch.allclose(class_weights(counts, 0.0)[:2], torch.ones(2))


def test_class_weighted_patch_loss_counts_rare_pixels_more():
    from samdistill.goodsam.mka import class_weights

    logits = torch.zeros(1, 2, 1, 4)  # uniform prediction: every pixel's CE is log 2
    labels = torch.tensor([[[0, 0, 0, 1]]])
    ignore = torch.full_like(labels, 255)
    plain = patch_loss(logits, labels, ignore)
    weighted = patch_loss(logits, labels, ignore, class_weight=class_weights(torch.tensor([3.0, 1.0]), 1.0))
    assert math.isclose(plain.item(), math.log(2), rel_tol=1e-6)
    # weights 1/f scaled to a mean pixel weight of 1: class 0 gets 2/3, class 1 gets 2 -> (3*2/3 + 2)/4 = 1
    assert math.isclose(weighted.item(), math.log(2), rel_tol=1e-6)
    logits[0, 1, 0, 3] = 2.0  # the rare pixel becomes right: the weighted loss drops more than the plain one
    drop_plain = plain.item() - patch_loss(logits, labels, ignore).item()
    drop_weighted = weighted.item() - patch_loss(logits, labels, ignore,
                                                 class_weight=class_weights(torch.tensor([3.0, 1.0]), 1.0)).item()
    assert drop_weighted > 1.5 * drop_plain
