"""Issue 21, item 3: what of the teacher's output SPD hands to IR1 under each gate.

With the `teacher_closer` gate and an L1-like pull (pixel_scale 255, beyond beta), a pixel is
distilled only where I2 is closer to GT than I1, i.e. I2 lies on GT's side of I1: the SPD gradient
then points the way the L1 reconstruction's already does. The gated pull is a per-pixel
re-weighting of the ground-truth loss; the teacher's value never sets IR1's direction. Ungated, the
teacher's value does set it (and where the teacher is wrong, against GT).
"""
import torch
import torch.nn.functional as F

from samdistill.sam4ir.spd import spd_loss


def _gray_state(seed=0, size=16):
    """IR1 / IR2 / GT with equal channels, so the gate's channel mean is the per-element error."""
    g = torch.Generator().manual_seed(seed)
    gt = torch.rand(2, 1, size, size, generator=g)
    i1 = gt + 0.08 * torch.randn(gt.shape, generator=g)
    i2 = gt + 0.05 * torch.randn(gt.shape, generator=g)
    return tuple(t.repeat(1, 3, 1, 1) for t in (i1, i2, gt))


def _grads(gate: str, seed=0):
    i1, i2, gt = _gray_state(seed)
    a = i1.clone().requires_grad_(True)
    (g_l1,) = torch.autograd.grad(F.l1_loss(a, gt), a)
    b = i1.clone().requires_grad_(True)
    (g_spd,) = torch.autograd.grad(spd_loss(b, i2, 1.0, 255.0, gate, gt), b)
    return g_spd, g_l1


def test_gated_spd_only_reweights_the_ground_truth_pull():
    for seed in range(3):
        g_spd, g_l1 = _grads("teacher_closer", seed)
        active = g_spd != 0
        assert active.float().mean() > 0.3  # the gate lets a good share of pixels through
        assert (g_spd[active] * g_l1[active] > 0).all()  # never against L1's direction


def test_ungated_spd_carries_the_teachers_direction():
    g_spd, g_l1 = _grads("none")
    opposed = (g_spd * g_l1 < 0).float().mean()
    assert opposed > 0.1  # where IR1 lies between GT and I2 the teacher pulls away from GT


def test_gt_target_keeps_the_gate_and_drops_the_teachers_values():
    i1, i2, gt = _gray_state(1)
    gated = (i2 - gt).abs() < (i1 - gt).abs()
    a = i1.clone().requires_grad_(True)
    (g_gt,) = torch.autograd.grad(spd_loss(a, i2, 1.0, 255.0, "teacher_closer", gt, target="gt"), a)
    b = i1.clone().requires_grad_(True)
    (g_t,) = torch.autograd.grad(spd_loss(b, i2, 1.0, 255.0, "teacher_closer", gt), b)
    assert torch.equal(g_gt != 0, gated) and torch.equal(g_t != 0, gated)  # same pixels
    far = gated & ((i1 - i2).abs() * 255 > 1) & ((i1 - gt).abs() * 255 > 1)  # L1 zone of both: same pull
    assert torch.allclose(g_gt[far], g_t[far])
    assert not torch.allclose(g_gt, g_t)  # the quadratic zone near the teacher differs: it stops at I2
    shifted = spd_loss(i1, i2 + 0.01, 1.0, 255.0, "none", gt, target="gt")
    assert torch.allclose(shifted, spd_loss(i1, i2 - 0.01, 1.0, 255.0, "none", gt, target="gt"))  # I2's values unused
    import pytest
    with pytest.raises(ValueError, match="target"):
        spd_loss(i1, i2, target="gt")
