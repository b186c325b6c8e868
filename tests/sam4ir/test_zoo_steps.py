"""A full framework step (IR1 + IR2 + SPF + SPD + SGR) on every tiny zoo network."""
import pytest
import torch

from samdistill.engine.config import LossConfig
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import SAM4IRMethod

TINY = [
    ("nafnet_tiny", "l1"),
    ("uformer_tiny", "charbonnier"),
    ("rcdnet_tiny", "rcdnet_multistage"),
    ("efficientderain_tiny", "l1_ssim"),
]


@pytest.mark.parametrize("backbone,loss", TINY)
def test_framework_step_on_tiny_variant(backbone, loss):
    torch.manual_seed(0)
    cfg = SAM4IRConfig.model_validate({"enabled": True, "sgr": {"features": "random_conv", "relation": "pooled"}})
    method = SAM4IRMethod(backbone, {}, cfg, LossConfig(name=loss), encoding="channels", num_masks=3)
    lq, gt = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    masks = torch.zeros(2, 3, 32, 32)
    masks[:, 0, :16], masks[:, 1, 16:], masks[:, 2, :, :10] = 1, 1, 1
    out = method({"lq": lq, "gt": gt, "masks": masks})
    assert torch.isfinite(out.loss) and {"loss_ir1", "loss_ir2", "loss_spd", "loss_sgr"} <= set(out.logs)
    out.loss.backward()
    assert len(method.spf.units) == len(method.ir2.spf_attach_points)
    for unit in method.spf.units:  # every SPF unit is on the gradient path of IR2's loss
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in unit.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.ir1.parameters())
