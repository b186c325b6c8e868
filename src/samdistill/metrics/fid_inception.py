"""The Inception-v3 that FID is defined with, on plain torch (no torchvision).

FID numbers are only comparable when they come from one network: the TensorFlow Inception graph
of 2015-12-05 that the original FID code (TTUR) used. pytorch-fid ships its weights ported to
PyTorch as `pt_inception-2015-12-05-6726825d.pth`, laid out as torchvision's `Inception3`
(`num_classes=1008`, no auxiliary head) with a few blocks changed to match TensorFlow:

- the average-pool branch of the A, C and first E blocks (`Mixed_5b..5d`, `Mixed_6b..6e`,
  `Mixed_7b`) ignores the zero padding (`count_include_pad=False`, TensorFlow's SAME pooling);
- the last E block (`Mixed_7c`) max-pools in that branch (the TF graph does; the paper says avg);
- BatchNorm eps is 1e-3 everywhere (as torchvision's `BasicConv2d`).

Features are the 2048-d output of the final global average pool ("pool_3"). Input: images in
[0, 1], resized to 299x299 (bilinear, align_corners=False, no antialias) and scaled to [-1, 1].

The module's attribute names equal torchvision's, so its `state_dict()` has exactly the key names
and shapes of the weight file: 94 conv+BN units x 6 tensors (`conv.weight`, `bn.weight`,
`bn.bias`, `bn.running_mean`, `bn.running_var`, `bn.num_batches_tracked`) + `fc.weight`
(1008x2048) + `fc.bias` = 566 keys. The 1008-class `fc` is loaded (strict loading) but not used.
The file is read with `torch.load(weights_only=True)`; nothing in it is ever unpickled as code.
"""
from __future__ import annotations

from pathlib import Path
import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.core.errors import CheckpointError

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_CLASSES = 1008
BN_EPS = 1e-3

# pooling of the branch_pool path of A/C/E blocks
POOLS = ("avg_exclude_pad", "avg_include_pad", "max")


def _pool3x3(x: torch.Tensor, kind: str) -> torch.Tensor:
    """3x3, stride 1, padding 1 pooling of the blocks' pool branch."""
    if kind == "avg_exclude_pad":  # TensorFlow / FID Inception
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    if kind == "avg_include_pad":  # torchvision's Inception3 (not used by FID)
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
    if kind == "max":  # FID Inception's last block
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
    raise ValueError(f"unknown pooling {kind!r}; choose one of {', '.join(POOLS)}")


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3), ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | pool-1x1 (64 + 64 + 96 + pool_features)."""

    def __init__(self, in_ch: int, pool_features: int, pool: str = "avg_exclude_pad") -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_ch, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_ch, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_ch, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_pool3x3(x, self.pool))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """35 -> 17 reduction: 3x3/2 | 1x1-3x3-3x3/2 | maxpool 3x3/2 (384 + 96 + in_ch)."""

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_ch, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorized 7x7 convolutions (192 x 4 channels out)."""

    def __init__(self, in_ch: int, channels_7x7: int, pool: str = "avg_exclude_pad") -> None:
        super().__init__()
        c7 = channels_7x7
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_ch, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_pool3x3(x, self.pool))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """17 -> 8 reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool 3x3/2 (320 + 192 + in_ch)."""

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_ch, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_ch, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3 / 3x1 outputs (320 + 768 + 768 + 192 = 2048 channels out).

    `pool="avg_exclude_pad"` is FID's first E block (Mixed_7b), `pool="max"` its last (Mixed_7c).
    """

    def __init__(self, in_ch: int, pool: str = "avg_exclude_pad") -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_ch, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_ch, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_ch, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        bp = self.branch_pool(_pool3x3(x, self.pool))
        return torch.cat([b1, b3, bd, bp], 1)


class FIDInceptionV3(nn.Module):
    """pytorch-fid's FID Inception: images (B,3,H,W) in [0,1] -> pool_3 features (B,2048).

    Always in eval mode (BatchNorm uses the stored running statistics), parameters frozen.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg_exclude_pad")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)  # in the weight file; FID does not use it
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "FIDInceptionV3":  # never leaves eval mode
        return super().train(False)

    def forward(self, x: torch.Tensor, resize: bool = True) -> torch.Tensor:
        """`x` in [0, 1]; `resize=False` when the caller already resized to 299x299 (or for tests)."""
        if resize:
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """A state dict of tensors from a .pth (zip or legacy format, weights_only) or .safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} weight file not found")
    if path.suffix == ".safetensors":
        from samdistill.core.safetensors_io import read_safetensors

        return read_safetensors(path)[0]
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with objects, a truncated file, not a torch file at all
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: cannot read {what} weights safely (torch.load weights_only=True): "
                              f"{first}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors ({what}), got {type(state).__name__}")
    return dict(state)


def _names(keys, limit: int = 6) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f" ... and {len(keys) - limit} more" if len(keys) > limit else "")


def check_state_dict(path: Path, state: dict, expected: dict[str, torch.Tensor], what: str,
                     ignore_prefixes: tuple[str, ...] = (), hint: str = "") -> None:
    """Strict key and shape check; the error names the missing and unexpected keys."""
    present = {k for k in state if not k.startswith(ignore_prefixes)} if ignore_prefixes else set(state)
    missing, unexpected = set(expected) - present, present - set(expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_names(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_names(unexpected)}")
        raise CheckpointError(f"{path}: not {what}: " + "; ".join(parts) + (f". {hint}" if hint else ""))
    for key, ref in expected.items():
        if tuple(state[key].shape) != tuple(ref.shape):
            raise CheckpointError(f"{path}: {key} has shape {tuple(state[key].shape)}, {what} needs "
                                  f"{tuple(ref.shape)}" + (f". {hint}" if hint else ""))


def load_fid_inception(path: str | Path, map_location: str | torch.device = "cpu") -> FIDInceptionV3:
    """FIDInceptionV3 with the weights of `path` (pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`).

    Strict: every key of the network must be in the file with its shape, and nothing else may be.
    """
    path = Path(path)
    state = read_state_dict(path, "FID Inception")
    net = FIDInceptionV3()
    check_state_dict(path, state, net.state_dict(), "the FID Inception-v3 (pytorch-fid layout)",
                     hint=f"FID needs pytorch-fid's {FID_WEIGHTS_NAME} (torchvision's inception_v3 "
                          "weights are a different network)")
    net.load_state_dict(state, strict=True)
    return net.to(map_location)


def save_random_fid_inception(path: str | Path, seed: int = 0, legacy_format: bool = True) -> Path:
    """Write a randomly initialized FID Inception in the real file layout (tests, timing).

    `legacy_format=True` writes PyTorch's pre-1.6 serialization, as the real file is. The numbers
    it gives measure nothing: only the loading path and the speed are real.
    """
    torch.manual_seed(seed)
    net = FIDInceptionV3()
    gen = torch.Generator().manual_seed(seed)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for module in net.modules():  # He init, so that the signal survives 48 conv layers
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        for bn in bns:  # running statistics of random images, so features differ between images
            bn.reset_running_stats()
            bn.momentum, bn.training = None, True
        net(torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE, generator=gen), resize=False)
        for bn in bns:
            bn.momentum, bn.training = 0.1, False
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), str(path), _use_new_zipfile_serialization=not legacy_format)
    return path


__all__ = ["FIDInceptionV3", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE",
           "BasicConv2d", "load_fid_inception", "save_random_fid_inception", "read_state_dict",
           "check_state_dict", "FID_WEIGHTS_NAME", "FEATURE_DIM", "INPUT_SIZE"]
