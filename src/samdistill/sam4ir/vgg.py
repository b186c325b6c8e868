"""Frozen feature extractors for SGR: VGG16/19 on plain torch, and an offline stand-in.

SGR needs `F_vgg` with 512 channels at H/8 (paper §3.3): VGG16 up to relu4_3 (features[:23]),
VGG19 up to relu4_4 (features[:27]). Layer indices match torchvision's `features.N.*` so the
standard weight files (`vgg16-397923af.pth`, `vgg19-dcbb9e9d.pth`, or a safetensors copy) load
by name; the classifier weights in those files are ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import read_safetensors

_CFGS = {  # conv widths per stage, "M" = 2x2 max-pool (torchvision's cfg "D" and "E")
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512],
    # the small stand-in: random (`random_conv`) or trained on the street world (`street_conv`)
    "street_conv": [32, "M", 128, "M", 256, "M", 512],
}
STANDIN_ARCH = "street_conv"
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def feature_layers(arch: str) -> nn.Sequential:
    """The untrained `features` stack of `arch` (torchvision's layer indices for VGG)."""
    if arch not in _CFGS:
        raise ValueError(f"unknown feature extractor {arch!r}; choose one of {sorted(_CFGS)}")
    return _make_layers(_CFGS[arch])


def imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """What FrozenFeatures does to its [0,1] input first (so a stand-in trains on the same input)."""
    mean = torch.tensor(_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _make_layers(cfg: list) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_ch = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = v
    return nn.Sequential(*layers)


class FrozenFeatures(nn.Module):
    """Image in [0,1] (B,3,H,W) -> features (B,512,H/8,W/8). Parameters frozen, eval mode."""

    def __init__(self, features: nn.Sequential, normalize: bool = True):
        super().__init__()
        self.features = features
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()
        # channels-last convolutions: 13-18 % faster on CPU (oneDNN) and the layout tensor cores want
        self.to(memory_format=torch.channels_last)

    def train(self, mode: bool = True) -> "FrozenFeatures":  # always eval: no dropout/BN drift
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = (x - self.mean) / self.std
        return self.features(x.contiguous(memory_format=torch.channels_last))


def _load_vgg_state(path: Path) -> dict:
    if path.suffix == ".safetensors":
        return read_safetensors(path)[0]
    if not path.is_file():
        raise CheckpointError(f"{path}: VGG weight file not found")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle with objects, ...
        raise CheckpointError(f"{path}: cannot read VGG weights safely (weights_only): {err}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return state


def build_vgg(arch: str = "vgg16", weights: Optional[str | Path] = None) -> FrozenFeatures:
    """VGG (or stand-in) features to 512 ch at H/8. `weights`: torchvision-format file
    (`features.N.weight` / `.bias`; required for real use)."""
    feats = feature_layers(arch)
    if weights is not None:
        path = Path(weights)
        state = _load_vgg_state(path)
        wanted = {k: v for k, v in state.items() if k.startswith("features.")}
        own = {f"features.{k}": v for k, v in feats.state_dict().items()}
        missing = sorted(set(own) - set(wanted))
        if missing:
            raise CheckpointError(f"{path}: not {arch} weights in torchvision format: missing {missing[:4]}")
        for k, v in own.items():
            if tuple(wanted[k].shape) != tuple(v.shape):
                raise CheckpointError(f"{path}: {k} has shape {tuple(wanted[k].shape)}, {arch} needs {tuple(v.shape)}")
        feats.load_state_dict({k[len("features."):]: wanted[k] for k in own})
    return FrozenFeatures(feats)


def build_random_conv(seed: int = 0) -> FrozenFeatures:
    """Weight-free stand-in (explicit opt-in only): fixed random convs, 512 ch at H/8.

    Random features still separate colors and textures, which is enough to exercise SGR's
    plumbing offline; they carry no ImageNet semantics, so gains measured with them are not
    the paper's.
    """
    gen = torch.Generator().manual_seed(seed)
    feats = feature_layers(STANDIN_ARCH)
    for m in feats.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * 9
            m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5
            m.bias.data.zero_()
    return FrozenFeatures(feats)


def build_relation_features(kind: str, weights: Optional[str] = None, seed: int = 0) -> FrozenFeatures:
    if kind == "random_conv":
        return build_random_conv(seed)
    if weights is None:
        raise CheckpointError(
            f"sam4ir.sgr.features={kind!r} needs pretrained weights: set sam4ir.sgr.vgg_weights=/path/to/"
            f"{kind}-*.pth (torchvision format; they cannot be downloaded here; for street_conv the file "
            "benchmarks/sgr_standin.py writes), or choose sam4ir.sgr.features=random_conv explicitly for an "
            "offline stand-in"
        )
    return build_vgg(kind, weights)
