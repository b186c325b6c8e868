"""SPF units attach by forward hooks to a network the framework has never seen."""
import pytest
import torch
import torch.nn as nn

from samdistill.sam4ir.spf import SPFFusion, SPFUnit, probe_blocks


class UnseenNet(nn.Module):
    """A user's own U-shaped net, declared in no registry; blocks run in a non-declaration order."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.up_block = nn.Conv2d(16, 8, 3, padding=1)  # declared first, runs last
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.mid_block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 16, 2, stride=2)
        self.tail = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x):
        h = self.head(x)
        m = self.mid_block(self.down(h))
        u = self.up_block(self.up(m))
        return x + self.tail(u + h)


def test_probe_discovers_execution_order_widths_and_sizes():
    net = UnseenNet()
    blocks = probe_blocks(net, ["up_block", "head", "mid_block"], size=32)
    assert [(b.path, b.channels, b.size) for b in blocks] == [
        ("head", 8, (32, 32)), ("mid_block", 16, (16, 16)), ("up_block", 8, (32, 32))]


@pytest.mark.parametrize("fusion,widths", [("chain", [3 + 4 + 8, 8 + 16, 16 + 8]),
                                           ("injected", [7 + 8, 8 + 7 + 16, 16 + 7 + 8])])
def test_fusion_replaces_block_outputs_only_inside_context(fusion, widths):
    torch.manual_seed(0)
    net = UnseenNet()
    x = torch.rand(2, 3, 24, 24)
    plain = net(x)
    fusion = SPFFusion(net, ["head", "mid_block", "up_block"], prior_channels=4, fusion=fusion)
    assert [u.conv1[0].in_channels for u in fusion.units] == widths
    assert torch.equal(net(x), plain)  # hooks inactive outside the context
    with torch.no_grad():  # trained units (fresh ones add exactly 0)
        for p in fusion.parameters():
            p.add_(0.1 * torch.randn_like(p))
    masks = (torch.rand(2, 4, 24, 24) > 0.5).float()
    with fusion.priors(x, masks):
        fused = net(x)
    assert fused.shape == x.shape and not torch.allclose(fused, plain)
    # every SPF unit and the priors influence IR2's output
    fused.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in fusion.units.parameters())
    masks2 = 1 - masks
    with fusion.priors(x, masks2), torch.no_grad():
        assert not torch.allclose(net(x), fused)


def test_unit_output_keeps_block_shape_and_resizes_previous():
    unit = SPFUnit(prev_channels=5, block_channels=7)
    out = unit(torch.rand(1, 5, 9, 13), torch.rand(1, 7, 4, 6))
    assert out.shape == (1, 7, 4, 6)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "area"])
@pytest.mark.parametrize("prev_size,feat_size", [((16, 16), (16, 16)), ((16, 16), (8, 8)), ((8, 12), (16, 24)),
                                                 ((9, 13), (4, 6))])
def test_unit_equals_conv_blocks_on_the_concatenation(mode, prev_size, feat_size):
    """The unit skips materialising [resize(prev), resize(prior), F_i]; it must still compute exactly that."""
    torch.manual_seed(0)
    unit = SPFUnit(prev_channels=5, block_channels=7, resize_mode=mode, prior_channels=4, zero_init=False).double()
    prev, feat = torch.randn(2, 5, *prev_size, dtype=torch.float64), torch.randn(2, 7, *feat_size, dtype=torch.float64)
    prior = torch.randn(2, 4, 16, 16, dtype=torch.float64)
    cat = torch.cat([unit._resize(prev, feat_size), unit._resize(prior, feat_size), feat], dim=1)
    reference = feat + unit.ssa(unit.conv2(unit.conv1(cat)))
    assert torch.allclose(unit(prev, feat, prior), reference, atol=1e-12, rtol=0)


def test_replacing_unit_cannot_claim_an_identity_start():
    with pytest.raises(ValueError, match="zero_init"):
        SPFUnit(prev_channels=5, block_channels=7, residual=False)
    assert SPFUnit(prev_channels=5, block_channels=7, residual=False, zero_init=False)(
        torch.rand(1, 5, 4, 4), torch.rand(1, 7, 4, 4)).shape == (1, 7, 4, 4)


def test_bad_attach_points_are_clear_errors():
    net = UnseenNet()
    with pytest.raises(ValueError, match="not_there"):
        SPFFusion(net, ["not_there"], prior_channels=1)
    with pytest.raises(ValueError, match="declares no SPF attach points"):
        SPFFusion(net, [], prior_channels=1)

    class TupleBlock(nn.Module):
        def forward(self, x):
            return x, x

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = TupleBlock()

        def forward(self, x):
            return self.b(x)[0]

    with pytest.raises(ValueError, match="must output a \\(B,C,H,W\\) feature map"):
        SPFFusion(Odd(), ["b"], prior_channels=1)


@pytest.mark.parametrize("hidden,cap,expected", [(None, None, [8, 16, 8]), (None, 12, [8, 12, 8]),
                                                 (20, None, [20, 20, 20]), (20, 12, [12, 12, 12])])
def test_unit_width_follows_the_block_capped_by_max_hidden(hidden, cap, expected):
    """hidden_channels (default: the block's width) then max_hidden_channels as a cap; the unit's
    output projection and attention keep the block's width, so IR2's shapes never change."""
    net = UnseenNet()
    fusion = SPFFusion(net, ["head", "mid_block", "up_block"], prior_channels=4, hidden=hidden, max_hidden=cap)
    assert [u.conv1[0].out_channels for u in fusion.units] == expected
    assert [u.conv2[1].out_channels for u in fusion.units] == [8, 16, 8]
    x = torch.rand(1, 3, 16, 16)
    with fusion.priors(x, torch.ones(1, 4, 16, 16)):
        assert net(x).shape == x.shape
