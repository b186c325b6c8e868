"""Tiled restoration equals whole-image restoration; padding to the network's multiple is undone."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.inference.tiling import pad_to_multiple, restore_tensor, tile_origins


def _conv_net(depth: int, seed: int = 0) -> nn.Module:
    """`depth` 3x3 convs (zero padding): receptive-field radius = depth pixels."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Conv2d(3 if i == 0 else 8, 3 if i == depth - 1 else 8, 3, padding=1)]
        if i < depth - 1:
            layers.append(nn.GELU())
    return nn.Sequential(*layers).eval()


class _DownUpNet(nn.Module):
    """Needs H, W multiples of 8 (like a U-Net); small receptive field so tiling can be exact."""

    pad_multiple = 8

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.inp = nn.Conv2d(3, 4, 3, padding=1)
        self.mid = nn.Conv2d(4, 4, 1)
        self.out = nn.Conv2d(4, 3, 3, padding=1)
        self.seen: list[torch.Size] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0, x.shape
        self.seen.append(x.shape)
        h = F.avg_pool2d(self.inp(x), 2)
        h = F.interpolate(self.mid(h), scale_factor=2, mode="nearest")
        return x + self.out(h)


@pytest.mark.parametrize("tile", [8, 16, 24, 40])
def test_tiled_equals_untiled_when_receptive_field_fits_the_overlap(tile: int) -> None:
    net = _conv_net(depth=3)  # radius 3 <= overlap // 2 = 4
    x = torch.rand(1, 3, 37, 53)
    whole = restore_tensor(net, x, tile=0)
    tiled = restore_tensor(net, x, tile=tile, overlap=8 if tile > 8 else 6)
    assert tiled.shape == x.shape
    assert torch.allclose(tiled, whole, atol=1e-4)


def test_tiled_differs_when_receptive_field_exceeds_the_overlap() -> None:
    net = _conv_net(depth=6)  # radius 6 > overlap // 2 = 2: the comparison above is not vacuous
    x = torch.rand(1, 3, 37, 53)
    assert not torch.allclose(restore_tensor(net, x, tile=16, overlap=4), restore_tensor(net, x), atol=1e-4)


def test_pad_multiple_is_applied_and_cropped_back() -> None:
    net = _DownUpNet().eval()
    x = torch.rand(1, 3, 37, 53)
    y = restore_tensor(net, x)
    assert net.seen == [torch.Size([1, 3, 40, 56])]
    assert y.shape == (1, 3, 37, 53)
    # the padded border is a mirror image of the input (reflect, not zeros)
    padded = pad_to_multiple(x, 8)
    assert torch.equal(padded[..., 37, :53], x[..., 35, :]) and torch.equal(padded[..., :37, 55], x[..., :, 49])
    # tiles start on the multiple's grid, so the down-sampling network tiles exactly too
    net.seen.clear()
    tiled = restore_tensor(net, x, tile=20, overlap=16)  # tile rounds up to 24
    assert len(net.seen) == 3 * 5 and {s[-2:] for s in net.seen} == {torch.Size([24, 24])}
    assert torch.allclose(tiled, y, atol=1e-4)


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (9, 2)])
def test_images_smaller_than_the_multiple_and_the_tile(size: tuple[int, int]) -> None:
    net = _DownUpNet().eval()
    x = torch.rand(1, 3, *size)
    assert restore_tensor(net, x, tile=64).shape == x.shape
    expected = (-(-size[0] // 8) * 8, -(-size[1] // 8) * 8)
    assert pad_to_multiple(x, 8).shape[-2:] == expected


def test_tile_must_exceed_the_overlap() -> None:
    with pytest.raises(ValueError, match="tile=16 must exceed tile_overlap=16"):
        restore_tensor(_conv_net(1), torch.rand(1, 3, 40, 40), tile=16, overlap=16)


def test_tile_origins_cover_the_length_and_end_at_it() -> None:
    assert tile_origins(53, 16, 8) == [0, 8, 16, 24, 32, 37]
    assert tile_origins(10, 16, 8) == [0]
