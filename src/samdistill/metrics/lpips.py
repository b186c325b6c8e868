"""LPIPS (Zhang et al., CVPR 2018; the `lpips` package, version 0.1) on plain torch.

    metric = LPIPS.from_weights("alex", "alexnet-owt-7be5be79.pth", "alex.pth")
    d = metric.lpips(a, b)        # (B,) for (B, 3, H, W) images in [0, 1]; lower = more similar

Two files, both user-supplied (nothing can be downloaded here):
- the trunk: torchvision's ImageNet weights, `alexnet-owt-7be5be79.pth` (AlexNet) or
  `vgg16-397923af.pth` (VGG16), keys `features.N.weight` / `features.N.bias` (`classifier.*` is
  ignored); a `.safetensors` copy with the same keys works too;
- the linear layers: `alex.pth` / `vgg.pth` of the lpips package (`lpips/weights/v0.1/`),
  keys `lin0.model.1.weight` .. `lin4.model.1.weight`, each (1, C, 1, 1); legacy PyTorch files
  of plain tensors, read with `torch.load(weights_only=True)`.

Computation, as lpips v0.1 with `normalize=True`: images in [0, 1] -> [-1, 1] -> the scaling
layer ((x - shift) / scale, shift = (-.030, -.088, -.188), scale = (.458, .448, .450)) -> five
ReLU outputs of the trunk (AlexNet: relu1..relu5; VGG16: relu1_2, relu2_2, relu3_3, relu4_3,
relu5_3) for each image -> each feature map divided by its L2 norm over channels (+ 1e-10) ->
squared difference -> 1x1 convolution to one channel (no bias) -> spatial mean -> sum over the
five layers.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from samdistill.core.errors import CheckpointError
from samdistill.metrics.fid_inception import check_state_dict, read_state_dict

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10

# (conv index in torchvision's `features`: (in, out, kernel, stride, padding)), the "M" max pools,
# and the feature indices after which LPIPS taps the ReLU output.
_ALEX = [(0, 3, 64, 11, 4, 2), (1, "relu"), (2, "pool3"), (3, 64, 192, 5, 1, 2), (4, "relu"), (5, "pool3"),
         (6, 192, 384, 3, 1, 1), (7, "relu"), (8, 384, 256, 3, 1, 1), (9, "relu"), (10, 256, 256, 3, 1, 1),
         (11, "relu")]
_ALEX_TAPS = (1, 4, 7, 9, 11)
_VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
_VGG16_TAPS = (3, 8, 15, 22, 29)
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
TRUNK_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
MIN_SIZE = {"alex": 31, "vgg": 16}  # smallest H and W for which every tapped layer exists
NETS = ("alex", "vgg")


def _alex_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    for spec in _ALEX:
        if spec[1] == "relu":
            layers.append(nn.ReLU())
        elif spec[1] == "pool3":
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
        else:
            _, cin, cout, k, s, p = spec
            layers.append(nn.Conv2d(cin, cout, k, stride=s, padding=p))
    return nn.Sequential(*layers)


def _vgg16_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for v in _VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers)


class Trunk(nn.Module):
    """torchvision-indexed `features` of AlexNet or VGG16 up to the last tapped ReLU; returns the taps."""

    def __init__(self, net: str) -> None:
        super().__init__()
        if net not in NETS:
            raise ValueError(f"unknown LPIPS network {net!r}; choose one of {', '.join(NETS)}")
        self.net = net
        self.features = _alex_features() if net == "alex" else _vgg16_features()
        self.taps = _ALEX_TAPS if net == "alex" else _VGG16_TAPS

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs


class _LinLayer(nn.Module):
    """lpips' NetLinLayer: (dropout slot at index 0, unused at evaluation) + 1x1 conv, no bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def normalize_channels(x: torch.Tensor, eps: float = NORM_EPS) -> torch.Tensor:
    """x / (||x||_2 over channels + eps), per pixel."""
    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance; frozen, always in eval mode. `forward` is differentiable w.r.t. the images."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        self.net = net
        self.trunk = Trunk(net)
        self.lins = nn.ModuleList(_LinLayer(c) for c in CHANNELS[net])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "LPIPS":
        return super().train(False)

    @classmethod
    def from_weights(cls, net: str, trunk_path: str | Path, linear_path: str | Path,
                     device: str | torch.device = "cpu") -> "LPIPS":
        model = cls(net)
        model.trunk.features.load_state_dict(load_trunk_state(net, trunk_path, model.trunk))
        model.lins.load_state_dict(load_linear_state(net, linear_path, model))
        return model.to(device)

    @property
    def device(self) -> torch.device:
        return self.shift.device

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) or (3, H, W) images in [0, 1] -> (B,) distances."""
        if a.ndim == 3:
            a, b = a[None], b[None]
        if a.shape != b.shape or a.ndim != 4 or a.shape[1] != 3:
            raise ValueError(f"LPIPS needs two (B, 3, H, W) batches of one shape; got {tuple(a.shape)} "
                             f"and {tuple(b.shape)}")
        h, w = a.shape[-2:]
        if min(h, w) < MIN_SIZE[self.net]:
            raise ValueError(f"LPIPS-{self.net} needs images of at least {MIN_SIZE[self.net]}x{MIN_SIZE[self.net]} "
                             f"pixels; got {w}x{h}")
        fa = self.trunk(((2 * a - 1) - self.shift) / self.scale)
        fb = self.trunk(((2 * b - 1) - self.shift) / self.scale)
        total = a.new_zeros(a.shape[0])
        for lin, xa, xb in zip(self.lins, fa, fb):
            diff = (normalize_channels(xa) - normalize_channels(xb)) ** 2
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total

    @torch.no_grad()
    def lpips(self, a: torch.Tensor, b: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
        """Batched distances (B,) on this metric's device, without gradients; returned on the CPU."""
        if a.shape != b.shape:
            raise ValueError(f"LPIPS needs images of one shape; got {tuple(a.shape)} and {tuple(b.shape)}")
        if a.ndim == 3:
            a, b = a[None], b[None]
        out = []
        for i in range(0, a.shape[0], batch_size):
            chunk_a = a[i:i + batch_size].to(self.device, torch.float32)
            chunk_b = b[i:i + batch_size].to(self.device, torch.float32)
            out.append(self(chunk_a, chunk_b).cpu())
        return torch.cat(out) if out else torch.zeros(0)


def load_trunk_state(net: str, path: str | Path, trunk: Trunk | None = None) -> dict[str, torch.Tensor]:
    """The `features.*` tensors of a torchvision AlexNet/VGG16 file, keyed as `trunk.features`."""
    path = Path(path)
    trunk = trunk or Trunk(net)
    state = read_state_dict(path, f"LPIPS {net} trunk")
    expected = {f"features.{k}": v for k, v in trunk.features.state_dict().items()}
    check_state_dict(path, state, expected, f"torchvision {'AlexNet' if net == 'alex' else 'VGG16'} weights",
                     ignore_prefixes=("classifier.",),
                     hint=f"LPIPS-{net} needs torchvision's {TRUNK_FILES[net]} (keys features.N.weight)")
    return {k[len("features."):]: state[k] for k in expected}


def load_linear_state(net: str, path: str | Path, model: LPIPS | None = None) -> dict[str, torch.Tensor]:
    """The lpips linear layers (`linK.model.1.weight`), keyed as `LPIPS.lins`."""
    path = Path(path)
    lins = (model or LPIPS(net)).lins
    state = read_state_dict(path, f"LPIPS {net} linear")
    expected = {f"lin{k}": v for k, v in lins.state_dict().items()}
    if set(state) == set(expected):  # name the network the file was made for, if it is the other one
        for other in NETS:
            if other != net and all(tuple(state[f"lin{i}.model.1.weight"].shape) == (1, c, 1, 1)
                                    for i, c in enumerate(CHANNELS[other])):
                raise CheckpointError(f"{path}: these are the LPIPS linear layers of '{other}' (lin1 has "
                                      f"{CHANNELS[other][1]} channels), not of '{net}'; use {other}.pth of the "
                                      f"lpips package, or net='{other}'")
    check_state_dict(path, state, expected, f"lpips v0.1 linear layers for '{net}'",
                     hint=f"use {net}.pth from the lpips package (lpips/weights/v0.1/)")
    return {k[len("lin"):]: state[k] for k in expected}


def save_random_lpips(net: str, trunk_path: str | Path, linear_path: str | Path, seed: int = 0,
                      trunk_legacy_format: bool = False) -> tuple[Path, Path]:
    """Write random weights in the real formats (tests, timing; the distances mean nothing).

    The trunk file has torchvision's keys (plus a small stand-in `classifier.*` entry, as the real
    files carry a classifier that LPIPS ignores); the linear file is written in the legacy
    serialization with non-negative weights, like lpips' own files.
    """
    gen = torch.Generator().manual_seed(seed)
    model = LPIPS(net)
    trunk_state = {}
    for k, v in model.trunk.features.state_dict().items():  # He init: the signal reaches the last layer
        fan_in = v[0].numel() if v.ndim == 4 else 1
        trunk_state[f"features.{k}"] = (torch.randn(v.shape, generator=gen) * (2.0 / fan_in) ** 0.5 if v.ndim == 4
                                        else torch.randn(v.shape, generator=gen) * 0.01)
    trunk_state["classifier.0.weight"] = torch.zeros(2, 2)
    lin_state = {f"lin{k}": torch.rand(v.shape, generator=gen) for k, v in model.lins.state_dict().items()}
    trunk_path, linear_path = Path(trunk_path), Path(linear_path)
    for p in (trunk_path, linear_path):
        p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(trunk_state, str(trunk_path), _use_new_zipfile_serialization=not trunk_legacy_format)
    torch.save(lin_state, str(linear_path), _use_new_zipfile_serialization=False)
    return trunk_path, linear_path


__all__ = ["LPIPS", "Trunk", "load_trunk_state", "load_linear_state", "save_random_lpips", "normalize_channels",
           "CHANNELS", "TRUNK_FILES", "MIN_SIZE", "NETS"]
