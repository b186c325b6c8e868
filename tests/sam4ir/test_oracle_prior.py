"""Issue 21, item 3: the `oracle` prior (a degraded GT fed to IR2 through SPF), for experiments."""
import pytest
import torch
from pydantic import ValidationError

from samdistill.engine.config import LossConfig
from samdistill.metrics.psnr_ssim import psnr_torch
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import SAM4IRMethod
from samdistill.sam4ir.oracle import gaussian_blur, oracle_prior


def _gt(b=2, size=32, seed=1):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _oracle_method(**over) -> SAM4IRMethod:
    cfg = SAM4IRConfig.model_validate({"enabled": True, "spf_prior": "oracle", "sgr": {"enabled": False}, **over})
    torch.manual_seed(0)
    return SAM4IRMethod("nafnet_tiny", {}, cfg, LossConfig(name="l1"), encoding="channels", num_masks=4)


def test_oracle_is_a_blurred_noisy_gt_and_reproducible_with_a_generator():
    gt = _gt()
    assert torch.equal(oracle_prior(gt, 0, 0), gt)
    blurred = gaussian_blur(gt, 1.0)
    assert blurred.shape == gt.shape and (blurred - gt).abs().mean() > 0.05  # random pixels: blur changes them
    assert torch.allclose(gaussian_blur(torch.full((1, 3, 5, 7), 0.3), 2.0), torch.full((1, 3, 5, 7), 0.3))  # flat stays flat
    a = oracle_prior(gt, 1.0, 0.03, torch.Generator().manual_seed(0))
    assert torch.equal(a, oracle_prior(gt, 1.0, 0.03, torch.Generator().manual_seed(0)))
    assert not torch.equal(a, oracle_prior(gt, 1.0, 0.0)) and a.min() >= 0 and a.max() <= 1
    smooth = gaussian_blur(_gt(size=64), 4.0)  # on a smooth image the oracle is close to GT
    assert float(psnr_torch(oracle_prior(smooth, 1.0, 0.03), smooth).mean()) > 28


def test_oracle_needs_spf_and_the_cascade():
    with pytest.raises(ValidationError, match="spf_prior: oracle"):
        SAM4IRConfig.model_validate({"enabled": True, "spf_prior": "oracle", "spf": {"enabled": False}})
    with pytest.raises(ValidationError, match="spf_prior"):
        SAM4IRConfig.model_validate({"spf_prior": "sam"})


def test_oracle_teacher_trains_without_masks_and_reads_gt():
    m = _oracle_method()
    assert not m.needs_masks() and m.spf.units[0].conv1[0].in_channels == 3 + 3 + m.spf.units[0].conv2[0].out_channels
    gt = _gt()
    lq = (gt + 0.2 * torch.rand(gt.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    out = m({"lq": lq, "gt": gt})  # no masks in the batch
    assert torch.isfinite(out.loss) and "loss_spd" in out.logs
    with torch.no_grad():  # leave the identity start, so IR2's output depends on its prior
        for p in m.spf.parameters():
            p.add_(0.05 * torch.randn_like(p))
    m.eval()
    with torch.no_grad():
        i1 = m.ir1(lq)
        a, b = m.teacher(i1, lq, None, clean=gt), m.teacher(i1, lq, None, clean=_gt(seed=5))
        assert not torch.allclose(a, b)  # the oracle is made from the GT it is given
        assert torch.equal(a, m.teacher(i1, lq, None, clean=gt))  # fixed noise outside training
        assert torch.equal(m.extra_validation({"lq": lq, "gt": gt})["ir2"], a)
    with pytest.raises(ValueError, match="needs the batch's GT"):
        m.teacher(i1, lq, None)
    # SGR still reads masks with the oracle prior
    assert _oracle_method(sgr={"enabled": True, "features": "random_conv"}).needs_masks()
