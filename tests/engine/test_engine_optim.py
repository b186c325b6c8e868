"""Learning-rate schedule values at given steps and the optimizer's parameter selection."""
import pytest
import torch
import torch.nn as nn

from samdistill.engine.config import OptimizerConfig, ScheduleConfig
from samdistill.engine.optim import apply_lr, build_optimizer, lr_factor


def test_cosine_with_warmup_values():
    cfg = ScheduleConfig(name="cosine", warmup_steps=4, min_lr=1e-5)
    lr = lambda s: 1e-3 * lr_factor(s, cfg, total_steps=14, base_lr=1e-3)  # noqa: E731
    assert lr(0) == pytest.approx(0.25e-3)
    assert lr(3) == pytest.approx(1e-3)
    assert lr(4) == pytest.approx(1e-3)            # cosine starts at the top
    assert lr(9) == pytest.approx((1e-3 + 1e-5) / 2)  # half way
    assert lr(14) == pytest.approx(1e-5)           # reaches min_lr at the last step
    assert lr(20) == pytest.approx(1e-5)


def test_step_and_constant_schedules():
    step = ScheduleConfig(name="step", warmup_steps=0, step_size=3, gamma=0.5)
    assert [lr_factor(s, step, 100, 1.0) for s in (0, 2, 3, 5, 6)] == [1, 1, 0.5, 0.5, 0.25]
    const = ScheduleConfig(name="constant", warmup_steps=2)
    assert [lr_factor(s, const, 100, 1.0) for s in (0, 1, 2, 50)] == [0.5, 1.0, 1.0, 1.0]


def test_optimizer_skips_frozen_parameters_and_apply_lr_sets_groups():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[0].requires_grad_(False)
    opt = build_optimizer(net, OptimizerConfig(name="adamw", lr=2e-3, betas=(0.8, 0.9), weight_decay=0.1))
    assert isinstance(opt, torch.optim.AdamW)
    params = opt.param_groups[0]["params"]
    assert {id(p) for p in params} == {id(p) for p in net[1].parameters()}
    assert opt.param_groups[0]["betas"] == (0.8, 0.9) and opt.param_groups[0]["weight_decay"] == 0.1
    lr = apply_lr(opt, 0, ScheduleConfig(name="constant", warmup_steps=4), 10)
    assert lr == pytest.approx(0.5e-3) and opt.param_groups[0]["lr"] == pytest.approx(0.5e-3)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(nn.Linear(1, 1).requires_grad_(False), OptimizerConfig())


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_kernel_makes_the_same_update_as_the_per_tensor_loop(name):
    def run(fused):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
        opt = build_optimizer(net, OptimizerConfig(name=name, lr=1e-2, weight_decay=0.01, fused=fused))
        for _ in range(5):
            net(torch.randn(6, 4)).pow(2).mean().backward()
            opt.step()
            opt.zero_grad()
        return opt, [p.detach().clone() for p in net.parameters()]

    fused_opt, fused = run(True)
    loop_opt, loop = run(False)
    assert fused_opt.param_groups[0]["fused"] is True and not loop_opt.param_groups[0].get("fused")
    for a, b in zip(fused, loop):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_resume_keeps_the_running_optimizers_implementation_choice():
    from samdistill.engine.checkpoint import load_optimizer_state

    net = nn.Linear(3, 3)
    saved = build_optimizer(net, OptimizerConfig(fused=True))
    net(torch.randn(2, 3)).sum().backward()
    saved.step()
    resumed = build_optimizer(net, OptimizerConfig(fused=False))
    load_optimizer_state(resumed, saved.state_dict(), "ckpt")
    assert not resumed.param_groups[0].get("fused")
    assert torch.equal(resumed.state[net.weight]["exp_avg"], saved.state[net.weight]["exp_avg"])
