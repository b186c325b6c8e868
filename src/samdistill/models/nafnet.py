"""NAFNet: Simple Baselines for Image Restoration (Chen et al., ECCV 2022).

A nonlinear-activation-free U-Net: every block is LayerNorm -> 1x1 conv -> 3x3 depthwise conv ->
SimpleGate (x1 * x2 replaces the activation) -> simplified channel attention -> 1x1 conv, plus a
gated 1x1 feed-forward, both with learnable residual scales that start at zero (so each block
starts as the identity). Re-implemented from the paper; the layer layout follows the public
reference so parameter counts match (GoPro width 32: 17.11M, width 64: 67.89M).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from samdistill.models._padding import check_image_batch, crop_to, pad_to_multiple
from samdistill.models.registry import register_backbone

PAPER = "Chen et al., Simple Baselines for Image Restoration, ECCV 2022"


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) map, with per-channel affine."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        y = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    """Split channels in two halves and multiply them: the block's only nonlinearity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = x.chunk(2, dim=1)
        return first * second


class SimplifiedChannelAttention(nn.Module):
    """x * conv1x1(global average pool(x)) — channel attention without the sigmoid/MLP."""

    def __init__(self, channels: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv(self.pool(x))


class NAFBlock(nn.Module):
    def __init__(self, channels: int, dw_expand: int = 2, ffn_expand: int = 2):
        super().__init__()
        dw_channels, ffn_channels = channels * dw_expand, channels * ffn_expand
        self.norm1 = LayerNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, dw_channels, 1)
        self.conv2 = nn.Conv2d(dw_channels, dw_channels, 3, padding=1, groups=dw_channels)
        self.gate = SimpleGate()
        self.sca = SimplifiedChannelAttention(dw_channels // 2)
        self.conv3 = nn.Conv2d(dw_channels // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.conv4 = nn.Conv2d(channels, ffn_channels, 1)
        self.conv5 = nn.Conv2d(ffn_channels // 2, channels, 1)
        # Residual scales start at zero: a fresh block is the identity.
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.gate(self.conv2(self.conv1(self.norm1(inp))))
        y = inp + self.conv3(self.sca(x)) * self.beta
        x = self.conv5(self.gate(self.conv4(self.norm2(y))))
        return y + x * self.gamma


def _blocks(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(NAFBlock(channels) for _ in range(count)))


class NAFNet(nn.Module):
    """U-Net of NAFBlocks: (B, C, H, W) -> (B, C, H, W), any H and W.

    Inputs are zero-padded to a multiple of `pad_multiple` = 2**len(enc_blk_nums) and the output
    is cropped back. `spf_attach_points` are the stages: each encoder, the middle, each decoder.
    """

    def __init__(self, img_channel: int = 3, width: int = 16, middle_blk_num: int = 1,
                 enc_blk_nums: list[int] | tuple[int, ...] = (), dec_blk_nums: list[int] | tuple[int, ...] = ()):
        super().__init__()
        if len(enc_blk_nums) != len(dec_blk_nums):
            raise ValueError(f"NAFNet needs as many decoder as encoder stages, got enc_blk_nums={list(enc_blk_nums)} "
                             f"and dec_blk_nums={list(dec_blk_nums)}")
        self.img_channel = img_channel
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        self.decoders, self.ups = nn.ModuleList(), nn.ModuleList()
        channels = width
        for count in enc_blk_nums:
            self.encoders.append(_blocks(channels, count))
            self.downs.append(nn.Conv2d(channels, channels * 2, 2, stride=2))
            channels *= 2
        self.middle_blks = _blocks(channels, middle_blk_num)
        for count in dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(channels, channels * 2, 1, bias=False), nn.PixelShuffle(2)))
            channels //= 2
            self.decoders.append(_blocks(channels, count))
        self.pad_multiple = 2 ** len(self.encoders)
        n_stages = len(self.encoders)
        self.spf_attach_points = ([f"encoders.{i}" for i in range(n_stages)] + ["middle_blks"]
                                  + [f"decoders.{i}" for i in range(n_stages)])

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        check_image_batch(inp, self.img_channel, type(self).__name__)
        height, width = inp.shape[-2:]
        inp = pad_to_multiple(inp, self.pad_multiple)
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = decoder(up(x) + skip)
        return crop_to(self.ending(x) + inp, height, width)


@register_backbone("nafnet", paper=PAPER)
def nafnet(width: int, enc_blk_nums: list[int], middle_blk_num: int, dec_blk_nums: list[int],
           img_channel: int = 3) -> NAFNet:
    """NAFNet with explicit width and blocks per stage."""
    return NAFNet(img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums)


@register_backbone("nafnet_gopro_w32", paper=PAPER)
def nafnet_gopro_w32(img_channel: int = 3) -> NAFNet:
    """NAFNet-GoPro-width32 (deblurring, 17.11M parameters)."""
    return NAFNet(img_channel, 32, 1, [1, 1, 1, 28], [1, 1, 1, 1])


@register_backbone("nafnet_gopro_w64", paper=PAPER)
def nafnet_gopro_w64(img_channel: int = 3) -> NAFNet:
    """NAFNet-GoPro-width64 (deblurring, 67.89M parameters)."""
    return NAFNet(img_channel, 64, 1, [1, 1, 1, 28], [1, 1, 1, 1])


@register_backbone("nafnet_tiny", paper=PAPER)
def nafnet_tiny(img_channel: int = 3, width: int = 16) -> NAFNet:
    """Small CPU-friendly NAFNet for tests and the demo (width 16, 3 stages, 1 block each)."""
    return NAFNet(img_channel, width, 1, [1, 1, 1], [1, 1, 1])
