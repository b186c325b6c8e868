"""SPF units start as the identity and see priors padded like the backbone pads its input."""
import pytest
import torch
import torch.nn.functional as F

from samdistill.engine.config import LossConfig
from samdistill.models.registry import _REGISTRY, backbone_info, list_backbones
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import SAM4IRMethod

# Generic factories need their shape arguments; every other registered name builds with defaults.
ARGS = {"nafnet": {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]},
        "uformer": {"embed_dim": 4}}
RESTORERS = [n for n in list_backbones(task=None)  # the package's restoration networks, not test doubles
             if backbone_info(n)["task"] != "segmentation" and _REGISTRY[n].__module__.startswith("samdistill.")]
TINY = ["nafnet_tiny", "efficientderain_tiny", "uformer_tiny", "rcdnet_tiny"]
FUSIONS = ["injected", "chain"]


def _method(backbone: str, fusion: str = "injected", **spf) -> SAM4IRMethod:
    cfg = SAM4IRConfig.model_validate({"enabled": True, "spd": {"enabled": False}, "sgr": {"enabled": False},
                                       "spf": {"fusion": fusion, **spf}})
    torch.manual_seed(0)
    return SAM4IRMethod(backbone, ARGS.get(backbone, {}), cfg, LossConfig(), num_masks=3).eval()


def _inputs(size: int, b: int = 1):
    g = torch.Generator().manual_seed(3)
    i1 = torch.rand(b, 3, size, size, generator=g)
    masks = (torch.rand(b, 3, size, size, generator=g) > 0.5).float()
    return i1, masks


@pytest.mark.parametrize("backbone,fusion", [(b, f) for b in RESTORERS for f in FUSIONS
                                             if f == "injected" or b in TINY])  # big nets: the default only
def test_fresh_units_leave_ir2_equal_to_the_bare_backbone(backbone, fusion):
    m = _method(backbone, fusion)
    i1, masks = _inputs(24)
    with torch.no_grad():
        assert torch.equal(m.teacher(i1, i1, masks), m.ir2(i1))


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("backbone", TINY)
def test_gradients_reach_every_unit_after_one_step(backbone, fusion):
    m = _method(backbone, fusion).train().double()  # float64: EfficientDerain's deep grads underflow float32
    i1, masks = (t.double() for t in _inputs(32, b=2))
    gt = torch.rand_like(i1)
    opt = torch.optim.Adam(m.spf.parameters(), lr=1e-3)
    F.l1_loss(m.teacher(i1, i1, masks), gt).backward()
    assert all(any(p.grad is not None and p.grad.abs().sum() > 0 for p in u.parameters()) for u in m.spf.units)
    opt.step()
    opt.zero_grad()
    F.l1_loss(m.teacher(i1, i1, masks), gt).backward()
    dead = [n for n, p in m.spf.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("backbone", ["nafnet_tiny", "efficientderain_tiny", "uformer_tiny"])
def test_priors_are_padded_like_the_input_not_stretched(backbone, fusion):
    """IR2 on a 58-px image == IR2 on the image and priors zero-padded to 64, cropped back."""
    m = _method(backbone, fusion).double()  # float64: EfficientDerain's small init hides a misalignment
    with torch.no_grad():  # trained-looking units: a stretched prior would change the output
        for p in m.spf.parameters():
            p.add_(0.2 * torch.randn_like(p))
    i1, masks = (t.double() for t in _inputs(58))
    pad = (0, 6, 0, 6)
    with torch.no_grad():
        small = m.teacher(i1, i1, masks)
        big = m.teacher(F.pad(i1, pad), F.pad(i1, pad), F.pad(masks, pad))[..., :58, :58]
        assert not torch.allclose(small, m.ir2(i1), atol=1e-6, rtol=0)  # the priors do matter
    assert torch.allclose(small, big, atol=1e-12, rtol=0)


def test_max_hidden_channels_reaches_the_units_from_the_config():
    wide = _method("efficientderain_tiny")
    capped = _method("efficientderain_tiny", max_hidden_channels=4)
    assert max(u.conv1[0].out_channels for u in wide.spf.units) > 4
    assert max(u.conv1[0].out_channels for u in capped.spf.units) == 4
    i1, masks = _inputs(32)
    with torch.no_grad():  # still the identity at the start
        assert torch.equal(capped.teacher(i1, i1, masks), capped.ir2(i1))
