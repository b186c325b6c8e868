"""EfficientDerain: Learning Pixel-wise Dilation Filtering for Image Deraining (Guo et al., AAAI 2021).

A kernel-prediction U-Net (the reference's "KPN") predicts, for every pixel and colour channel, a
3x3 filter. The rainy input is filtered with those per-pixel kernels at dilations 1, 2, 3, 4 and a
3x3 convolution fuses the four filtered images into the output:

    K = KPN(O),   P_d = sum_{taps t} K[c, t] * O[c, shifted by d * t],   out = conv3x3([P_1 .. P_4])

Facts of the public reference, default options (its generator counts 27,395,406 = 27.40M):
  * U-Net levels are "Basic" blocks of three conv3x3 + ReLU (no normalization; the optional
    channel/spatial attention is off by default and not implemented here), widths
    64-128-256-512-512, 2x2 average pooling down, bilinear x2 up, skip by concatenation.
    The full-resolution block feeds only the encoder: the last decoder block is at 1/2
    resolution (skip from the 1/2 encoder) and outputs 3 * 3 * 3 = 27 kernel channels, which are
    upsampled to full size and passed through a 1x1 conv.
  * Kernel layout: channel = colour * 9 + tap, taps in row-major order; zero padding; no
    normalization of the predicted kernels. The fusion sees only the 4 x 3 filtered channels
    (not the input), with no residual connection.
  * Init: conv weights xavier-normal with gain 0.02 (biases keep PyTorch's default).
Our choices: inputs are zero-padded to a multiple of 16 and cropped back (the reference needs
sizes divisible by 16); module names are descriptive (enc1..enc4, bottleneck, dec4..dec2 for the
reference's conv1..conv8, kernel_head for outc, fuse for conv_final).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models._padding import check_image_batch, crop_to, pad_to_multiple
from samdistill.models.registry import register_backbone

PAPER = ("Guo et al., EfficientDeRain: Learning Pixel-wise Dilation Filtering for High-Efficiency "
         "Single-Image Deraining, AAAI 2021")
LEVELS = 4  # poolings in the U-Net


class ConvBlock(nn.Module):
    """Three 3x3 convolutions, each followed by ReLU (the reference's `Basic`)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def pixelwise_filter(image: torch.Tensor, kernels: torch.Tensor, kernel_size: int, dilation: int) -> torch.Tensor:
    """Filter each pixel of each channel with its own kernel, taps `dilation` pixels apart.

    `image` (B, C, H, W), `kernels` (B, C * k * k, H, W) laid out as channel * k*k + tap.
    """
    b, c, h, w = image.shape
    taps = kernel_size * kernel_size
    patches = F.unfold(image, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2))
    return (patches.view(b, c, taps, h, w) * kernels.view(b, c, taps, h, w)).sum(dim=2)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class EfficientDerain(nn.Module):
    """Kernel-prediction U-Net + pixel-wise dilation filtering; `(B,3,H,W) -> (B,3,H,W)`, any H, W.

    SPF attach points: one per U-Net level, in execution order enc1..enc4, bottleneck, dec4..dec2.
    """

    pad_multiple = 2 ** LEVELS
    spf_attach_points = ("enc1", "enc2", "enc3", "enc4", "bottleneck", "dec4", "dec3", "dec2")

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512, 512), kernel_size: int = 3,
                 dilations: tuple[int, ...] = (1, 2, 3, 4), init_gain: float | None = 0.02):
        super().__init__()
        if len(widths) != LEVELS + 1:
            raise ValueError(f"EfficientDerain widths must list {LEVELS + 1} level widths, got {tuple(widths)}")
        if kernel_size % 2 == 0 or not dilations:
            raise ValueError(f"EfficientDerain needs an odd kernel_size and >= 1 dilation, "
                             f"got {kernel_size}, {dilations}")
        w1, w2, w3, w4, w5 = widths
        self.kernel_size, self.dilations = kernel_size, tuple(dilations)
        kernel_channels = 3 * kernel_size**2
        self.enc1, self.enc2 = ConvBlock(3, w1), ConvBlock(w1, w2)
        self.enc3, self.enc4 = ConvBlock(w2, w3), ConvBlock(w3, w4)
        self.bottleneck = ConvBlock(w4, w5)
        self.dec4 = ConvBlock(w4 + w5, w4)
        self.dec3 = ConvBlock(w3 + w4, w3)
        self.dec2 = ConvBlock(w2 + w3, kernel_channels)
        self.kernel_head = nn.Conv2d(kernel_channels, kernel_channels, 1)
        self.fuse = nn.Conv2d(3 * len(self.dilations), 3, 3, padding=1)
        if init_gain is not None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.xavier_normal_(module.weight, gain=init_gain)

    def predict_kernels(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel kernels (B, 3*k*k, H, W) for an input whose size is a multiple of 16."""
        e1 = self.enc1(x)
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        e3 = self.enc3(F.avg_pool2d(e2, 2))
        e4 = self.enc4(F.avg_pool2d(e3, 2))
        e5 = self.bottleneck(F.avg_pool2d(e4, 2))
        d4 = self.dec4(torch.cat([e4, _up(e5)], dim=1))
        d3 = self.dec3(torch.cat([e3, _up(d4)], dim=1))
        d2 = self.dec2(torch.cat([e2, _up(d3)], dim=1))
        return self.kernel_head(_up(d2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, 3, "EfficientDerain")
        height, width = x.shape[-2:]
        padded = pad_to_multiple(x, self.pad_multiple)
        kernels = self.predict_kernels(padded)
        filtered = [pixelwise_filter(padded, kernels, self.kernel_size, d) for d in self.dilations]
        return crop_to(self.fuse(torch.cat(filtered, dim=1)), height, width)


@register_backbone("efficientderain", task="deraining", paper=PAPER)
def efficientderain(**kwargs) -> EfficientDerain:
    """EfficientDerain at the reference's default options: 3x3 kernels, dilations 1-4 (27.40M)."""
    return EfficientDerain(**kwargs)


@register_backbone("efficientderain_tiny", task="deraining", paper=PAPER)
def efficientderain_tiny(**kwargs) -> EfficientDerain:
    """A small EfficientDerain for tests and CPU runs: widths 16-32-32-64-64 (< 0.5M)."""
    return EfficientDerain(**{"widths": (16, 32, 32, 64, 64), **kwargs})
