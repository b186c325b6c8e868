"""SPD and SGR formulas checked on small hand-computed tensors (paper eqs. 4-7)."""
import math

import torch

from samdistill.sam4ir.sgr import mask_relations, pooled_relations, sgr_loss
from samdistill.sam4ir.spd import spd_loss


def test_spd_is_smooth_l1_with_beta_one():
    i1 = torch.tensor([0.0, 0.5, 3.0], requires_grad=True)
    i2 = torch.tensor([0.2, 0.0, 0.0], requires_grad=True)
    # |d| < 1: 0.5 d^2 ; |d| >= 1: |d| - 0.5   -> (0.02 + 0.125 + 2.5) / 3
    loss = spd_loss(i1, i2)
    assert math.isclose(loss.item(), (0.02 + 0.125 + 2.5) / 3, rel_tol=1e-6)
    loss.backward()
    assert i2.grad is None  # stop-gradient: I2 never receives SPD gradient
    assert torch.allclose(i1.grad, torch.tensor([-0.2, 0.5, 1.0]) / 3)


def test_spd_pixel_scale_255_is_mostly_l1():
    i1, i2 = torch.tensor([0.5]), torch.tensor([0.1])
    # 0.4 * 255 = 102 > beta: |d| - 0.5
    assert math.isclose(spd_loss(i1, i2, pixel_scale=255.0).item(), 0.4 * 255 - 0.5, rel_tol=1e-5)


def _brute_relations(f, m):
    # F(n) = F ⊙ m_n flattened over channels and pixels; cosine of every pair.
    b, n = m.shape[:2]
    out = torch.zeros(b, n, n)
    for bi in range(b):
        vecs = [(f[bi] * m[bi, k]).flatten() for k in range(n)]
        for i in range(n):
            for j in range(n):
                den = vecs[i].norm() * vecs[j].norm()
                out[bi, i, j] = 0 if den == 0 else vecs[i] @ vecs[j] / den
    return out


def test_masked_map_relations_match_definition():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 5, 4, 3, generator=g)
    m = (torch.rand(2, 4, 4, 3, generator=g) > 0.4).float()
    assert torch.allclose(mask_relations(f, m), _brute_relations(f, m), atol=1e-5)


def test_relations_hand_values():
    # one channel, two pixels with features a=3, b=4; masks {p0}, {p1}, {p0,p1}
    f = torch.tensor([[[[3.0, 4.0]]]])
    m = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]]])
    r = mask_relations(f, m)[0]
    assert r[0, 1].item() == 0.0  # disjoint masks: masked maps are orthogonal
    assert math.isclose(r[0, 2].item(), 3 / 5, rel_tol=1e-6)
    assert math.isclose(r[1, 2].item(), 4 / 5, rel_tol=1e-6)
    # pooled: descriptors 3, 4, 7 (1-d, positive) -> all cosines 1
    assert torch.allclose(pooled_relations(f, m)[0], torch.ones(3, 3))


def test_sgr_loss_hand_value_and_padding_excluded():
    f1 = torch.tensor([[[[3.0, 4.0]]]], requires_grad=True)
    f2 = torch.tensor([[[[4.0, 3.0]]]], requires_grad=True)
    m = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]]])
    # R1: (0, .6, .8) ; R2: (0, .8, .6) for pairs (01, 02, 12); each off-diagonal pair twice.
    expected = 2 * (0.2**2 + 0.2**2) / (9 - 3)
    kw = {"mask_resize": "nearest", "relation": "masked_map"}
    loss = sgr_loss(f1, f2, m, **kw)
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)
    padded = torch.cat([m, torch.zeros(1, 5, 1, 2)], dim=1)  # 5 empty padding masks
    assert math.isclose(sgr_loss(f1, f2, padded, **kw).item(), expected, rel_tol=1e-5)
    expected_abs = 2 * (0.2 + 0.2) / 6
    assert math.isclose(sgr_loss(f1, f2, m, distance="abs", **kw).item(), expected_abs, rel_tol=1e-5)
    loss.backward()
    assert f2.grad is None and f1.grad is not None


def test_sgr_no_nan_when_all_masks_empty_or_single():
    f1 = torch.randn(2, 8, 4, 4, requires_grad=True)
    f2 = torch.randn(2, 8, 4, 4)
    masks = torch.zeros(2, 6, 32, 32)
    masks[1, 0] = 1.0  # one real mask: no pair -> 0
    loss = sgr_loss(f1, f2, masks)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(f1.grad).all()


def test_sgr_masks_resized_to_feature_size_by_area():
    g = torch.Generator().manual_seed(0)
    f1 = torch.rand(1, 4, 2, 2, generator=g) + 0.1
    f2 = torch.rand(1, 4, 2, 2, generator=g) + 0.1
    # Boundaries inside the 8x8 cells of the 2x2 feature map, so the resizes disagree: area gives
    # the covered fraction (5/8, 4/8), nearest the cell's first pixel, bilinear a 2-pixel blend.
    masks = torch.zeros(1, 3, 16, 16)
    masks[0, 0, :5] = 1
    masks[0, 1, :, :4] = 1
    masks[0, 2, 2:14, 6:11] = 1
    by_mode = {mode: sgr_loss(f1, f2, masks, mask_resize=mode).item() for mode in ("area", "nearest", "bilinear")}
    assert len({round(v, 9) for v in by_mode.values()}) == 3, by_mode  # the test can tell them apart
    cell_fraction = masks.reshape(1, 3, 2, 8, 2, 8).mean(dim=(3, 5))  # computed independently
    assert cell_fraction[0, 0, 0, 0] == 5 / 8 and cell_fraction[0, 1, 0, 0] == 0.5
    ref = sgr_loss(f1, f2, cell_fraction, mask_resize="nearest")  # already at feature size: no resize
    loss = sgr_loss(f1, f2, masks)
    assert torch.isfinite(loss) and math.isclose(loss.item(), ref.item(), rel_tol=1e-6)


def _same_norm_random_directions(f: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    r = torch.randn(f.shape, generator=g, dtype=f.dtype)
    return r / r.norm(dim=1, keepdim=True) * f.norm(dim=1, keepdim=True)


def test_sgr_default_relation_is_pooled_and_reads_feature_directions():
    """masked_map sees only per-pixel energy; pooled relations depend on what the features say."""
    from samdistill.sam4ir.config import SGRConfig

    assert SGRConfig().relation == "pooled"
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 16, 6, 6, generator=g, dtype=torch.float64)
    m = (torch.rand(2, 5, 6, 6, generator=g) > 0.5).double()
    scrambled = _same_norm_random_directions(f, g)
    assert torch.allclose(mask_relations(scrambled, m), mask_relations(f, m), atol=1e-12)
    assert (pooled_relations(scrambled, m) - pooled_relations(f, m)).abs().max() > 0.1
    # the loss follows the default: features that agree in energy but not in direction are a mismatch
    assert sgr_loss(f, scrambled, m) > 1e-3
    assert sgr_loss(f, scrambled, m, relation="masked_map") < 1e-12
