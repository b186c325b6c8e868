"""RCDNet: reference parameter count, stage outputs, SPF attach points, multi-stage loss."""
import math

import pytest
import torch

from samdistill.models.losses_paper import rcdnet_multistage_loss
from samdistill.models.rcdnet import RCDNet, RCDNetStages, reference_rain_kernels
from samdistill.models.registry import create_backbone, list_backbones, spf_attach_points
from samdistill.sam4ir.spf import probe_blocks


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_both_variants_are_registered():
    assert {"rcdnet", "rcdnet_tiny"} <= set(list_backbones())


def test_default_counts_the_references_3_17m_parameters():
    model = create_backbone("rcdnet")
    assert model.stages == 17
    assert abs(n_params(model) - 3.17e6) / 3.17e6 < 0.01
    # hand count: 19 B-nets of 35 ch + 18 M-nets of 32 ch (T=4) + 17 kernels 3x32x9x9 + z filter + scalars
    b_net = 4 * (2 * (35 * 35 * 9 + 35) + 2 * 70)
    m_net = 4 * (2 * (32 * 32 * 9 + 32) + 2 * 64) + 32
    assert n_params(model) == 19 * b_net + 18 * m_net + 17 * 3 * 32 * 81 + 32 * 27 + (1 + 16 + 16 + 1 + 1)


def test_reference_unused_parameters_are_frozen_and_optional():
    model = create_backbone("rcdnet_tiny")
    lean = create_backbone("rcdnet_tiny", keep_reference_unused=False)
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all(name.startswith("unused_") for name in frozen)
    assert n_params(model) - n_params(lean) == sum(p.numel() for p in model.unused_mnet.parameters()) + 1
    lean.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("unused_")})
    x = torch.rand(1, 3, 17, 19)
    model.eval(), lean.eval()
    assert torch.equal(model(x), lean(x))


def test_tiny_forward_backward_on_odd_size():
    torch.manual_seed(0)
    model = create_backbone("rcdnet_tiny")
    x = torch.rand(1, 3, 29, 41)
    y = model(x)
    assert y.shape == x.shape
    y.mean().backward()
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for _, p in trainable)
    assert model.eta_m.grad.abs().sum() > 0 and model.tau.grad is not None


def test_forward_stages_gives_every_estimate_and_final_equals_forward():
    torch.manual_seed(0)
    model = create_backbone("rcdnet_tiny").eval()
    x = torch.rand(2, 3, 20, 23)
    out = model.forward_stages(x)
    assert len(out.backgrounds) == len(out.rains) == model.stages == 3
    assert all(t.shape == x.shape for t in [out.initial, out.final, *out.backgrounds, *out.rains])
    assert torch.equal(out.final, model(x))


def test_other_kernel_copies_get_no_gradient_like_the_reference():
    model = create_backbone("rcdnet_tiny", stages=4)
    model(torch.rand(1, 3, 16, 16)).sum().backward()
    grads = model.kernels.grad.flatten(1).abs().sum(1)
    assert grads[1] > 0 and grads[0] == 0 and grads[2] == 0  # the reference reads copy 1 only


def test_spf_attach_points_are_the_stage_b_nets():
    model = create_backbone("rcdnet_tiny", num_z=6)
    paths = spf_attach_points(model)
    assert paths == ["bnets.0", "bnets.1", "bnets.2"]
    blocks = probe_blocks(model, paths, size=24)  # resolves, 4D output, runs once, in order
    assert [(b.path, b.channels, b.size) for b in blocks] == [(p, 3 + 6, (24, 24)) for p in paths]


def test_rain_kernel_bank_is_normalized_vertical_streaks():
    bank = reference_rain_kernels(32, 9)
    assert bank.shape == (3, 32, 9, 9)
    assert torch.equal(bank[0], bank[2])
    assert torch.allclose(bank.sum(dim=(-1, -2)), torch.ones(3, 32))
    coords = torch.arange(-4.0, 5.0)
    row_spread = (bank[0].sum(-1) * coords**2).sum(-1)
    col_spread = (bank[0].sum(-2) * coords**2).sum(-1)
    assert (row_spread > 3 * col_spread).all()
    with pytest.raises(ValueError, match="odd"):
        reference_rain_kernels(4, 8)


def test_rejects_too_few_stages_and_wrong_input():
    with pytest.raises(ValueError, match="stages >= 2"):
        RCDNet(stages=1)
    with pytest.raises(ValueError, match=r"RCDNet expects .*\(B, 3, H, W\)"):
        create_backbone("rcdnet_tiny")(torch.rand(1, 1, 8, 8))


def _perfect_outputs(lq: torch.Tensor, gt: torch.Tensor, stages: int) -> RCDNetStages:
    return RCDNetStages(gt.clone(), [gt.clone() for _ in range(stages)],
                        [(lq - gt).clone() for _ in range(stages)], gt.clone())


@pytest.mark.parametrize("which, expected", [
    ("initial", 0.1), ("background_1", 0.1), ("background_3", 0.1), ("final", 1.0),
    ("rain_1", 0.1), ("rain_2", 0.1), ("rain_3", 1.0),  # last rain layer: 0.1 + 0.9
])
def test_multistage_loss_weights_one_wrong_estimate(which, expected):
    torch.manual_seed(0)
    gt = torch.rand(2, 3, 5, 4)
    lq = gt + 0.3 * torch.rand_like(gt)
    outs = _perfect_outputs(lq, gt, stages=3)
    assert rcdnet_multistage_loss(outs, lq, gt).item() == 0
    if which.startswith("background"):
        outs.backgrounds[int(which[-1]) - 1] = outs.backgrounds[0] + 0.5
    elif which.startswith("rain"):
        outs.rains[int(which[-1]) - 1] = outs.rains[0] + 0.5
    else:
        setattr(outs, which, getattr(outs, which) + 0.5)
    assert math.isclose(rcdnet_multistage_loss(outs, lq, gt).item(), expected * 0.25, rel_tol=1e-5)


def test_multistage_loss_trains_the_tiny_model_and_checks_lengths():
    torch.manual_seed(0)
    model = create_backbone("rcdnet_tiny")
    gt = torch.rand(1, 3, 16, 16)
    lq = (gt + 0.2).clamp(max=1)
    loss = rcdnet_multistage_loss(model.forward_stages(lq), lq, gt)
    loss.backward()
    assert torch.isfinite(loss) and model.bnet_final.blocks[0][0].weight.grad.abs().sum() > 0
    bad = RCDNetStages(gt, [gt, gt], [gt], gt)
    with pytest.raises(ValueError, match="2 and 1"):
        rcdnet_multistage_loss(bad, lq, gt)
