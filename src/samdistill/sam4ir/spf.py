"""SPF, Semantic Prior Fusion (paper eq. 3, Fig. 3), inserted into IR2 with forward hooks.

IR2 is an unmodified instance of the user's backbone. Each of its building blocks (attach point)
gets one SPF unit; a forward hook replaces the block's output F_i by F_i^SPF, so the next block
computes F_{i+1} = f(F_i^SPF). Two fusions (`sam4ir.spf.fusion`):

- "chain" (default), eq. 3 as printed: F_i^SPF = f_i^SPF([resize(F_{i-1}^SPF), F_i]),
  F_0^SPF := [I1, M]. Eq. 3 writes the first unit as f_1^SPF([I1, M]) alone; we fuse [I1, M]
  *with* F_1 (the unit must output a map the next block accepts, and the text says every unit
  fuses F_i). Later units see the prior through the chain (and a U-Net's skips).
- "injected", our documented extension: every unit also gets the resized [I1, M],
  F_i^SPF = f_i^SPF([resize(F_{i-1}^SPF), resize([I1, M]), F_i]) (unit 1: [[I1, M], F_1]), so
  every block, decoder blocks at full resolution included, sees the prior directly.
Both pass the information test (the clean image as the prior: benchmarks/method_studies/sam4ir_information.py,
figures in docs/sam4ir_measurements.md); injected picks the prior up faster in short runs
(tests/sam4ir/test_spf_information.py) and costs a little more IR2 time.

A unit is two conv blocks on the concatenation, then the Semantic Selection Attention (an
attention map multiplied element-wise with the fused features), added to F_i (`residual`: the
paper's figure does not say). Its last projection starts at zero (`zero_init`), so a fresh unit
adds exactly 0 and IR2 starts as the plain backbone (the default init added several times the
block's own features and overwrote RCDNet's 255-scale background estimate; docs/sam4ir_measurements.md).
[I1, M] is zero-padded bottom/right to the backbone's `pad_multiple`, as its input is, so the
prior stays aligned with the features. Units are built for the blocks in the order the backbone
*executes* them, discovered by a probe forward, so any network works without being edited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models._padding import pad_to_multiple


class SemanticSelectionAttention(nn.Module):
    """x ⊙ σ(conv(x)): keep the useful semantics (per pixel, per channel or both)."""

    def __init__(self, channels: int, mode: str = "spatial_channel"):
        super().__init__()
        self.mode = mode
        if mode == "spatial":
            self.att = nn.Conv2d(channels, 1, 3, padding=1)
        elif mode == "channel":
            self.att = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels, 1))
        else:  # 1x1: a per-pixel, per-channel gate; the 3x3 context comes from the conv blocks
            self.att = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.att(x))


def resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    if x.shape[-2:] == size:
        return x
    if mode == "area":
        return F.adaptive_avg_pool2d(x, size)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(x, size=size, mode=mode, **kw)


def _pixels(x: torch.Tensor) -> int:
    return x.shape[-2] * x.shape[-1]


class SPFUnit(nn.Module):
    """One unit f_i^SPF: [prev, prior, F_i] -> conv block -> conv block -> SSA (-> + F_i).

    `prev` is F_{i-1}^SPF, `prior` the injected [I1, M] (`prior_channels` > 0, injected fusion);
    either may be absent (0 channels). Both are resized to the block's resolution.
    The first block mixes the concatenated channels with a 1x1 conv, the second adds 3x3 spatial
    context (depthwise, then a 1x1 projection): a unit costs less than one plain 3x3 conv of the
    block's width, so IR2 stays close to IR1's cost (Fig. 3 shows two conv blocks but no kernel
    sizes). `zero_init`: the last projection starts at 0, so the unit adds exactly 0 and IR2 starts
    as the plain backbone; that projection gets gradients at once, the rest after its first update.
    """

    def __init__(self, prev_channels: int, block_channels: int, hidden: Optional[int] = None,
                 attention: str = "spatial_channel", resize_mode: str = "bilinear", residual: bool = True,
                 prior_channels: int = 0, zero_init: bool = True):
        super().__init__()
        if zero_init and not residual:
            raise ValueError("an SPF unit that replaces F_i (residual: false) cannot start as the identity; "
                             "set zero_init: false")
        hidden = hidden or block_channels
        self.resize_mode = resize_mode
        self.residual = residual
        self.in_splits = (prev_channels, prior_channels)
        self.conv1 = nn.Sequential(nn.Conv2d(prev_channels + prior_channels + block_channels, hidden, 1), nn.GELU())
        self.conv2 = nn.Sequential(  # depthwise 3x3 context + pointwise projection to the block width
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden), nn.Conv2d(hidden, block_channels, 1), nn.GELU())
        self.ssa = SemanticSelectionAttention(block_channels, attention)
        if zero_init:
            nn.init.zeros_(self.conv2[1].weight)
            nn.init.zeros_(self.conv2[1].bias)

    def _resize(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return resize(x, size, self.resize_mode)

    def forward(self, prev: Optional[torch.Tensor], feat: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> torch.Tensor:
        fused = self.ssa(self.conv2(self.conv1[1](self._mix(feat, prev, prior))))
        return feat + fused if self.residual else fused

    def _mix(self, feat: torch.Tensor, *inputs: Optional[torch.Tensor]) -> torch.Tensor:
        """conv1's 1x1 conv on [resize(prev), resize(prior), F_i], without the concatenation.

        A 1x1 conv is a sum of per-input projections W_x·x + b, and the resizes (bilinear,
        nearest, area weights sum to 1) commute with a per-pixel linear map. So each input is
        projected at whichever resolution has fewer pixels: before upsampling (decoder side),
        after downsampling (encoder side). Same function and parameters, no concatenated copy.
        """
        conv = self.conv1[0]
        size = feat.shape[-2:]
        start = sum(self.in_splits)
        out = F.conv2d(feat, conv.weight[:, start:], conv.bias)
        start = 0
        for x, n in zip(inputs, self.in_splits):
            if not n:
                continue
            w = conv.weight[:, start:start + n]
            start += n
            x = x.to(feat.dtype)
            if _pixels(x) < size[0] * size[1]:
                out = out + self._resize(F.conv2d(x, w), size)
            else:
                out = out + F.conv2d(self._resize(x, size), w)
        return out


@dataclass
class BlockInfo:
    path: str
    channels: int
    size: tuple[int, int]


def probe_blocks(model: nn.Module, paths: list[str], size: int = 64) -> list[BlockInfo]:
    """Run one dummy forward to learn the order, width and resolution of each attach point."""
    seen: list[BlockInfo] = []
    handles = []
    for path in paths:
        try:
            module = model.get_submodule(path)
        except AttributeError:
            raise ValueError(f"SPF attach point {path!r} is not a submodule of {type(model).__name__}") from None

        def hook(_m, _inp, out, path=path):
            if not (isinstance(out, torch.Tensor) and out.dim() == 4):
                got = type(out).__name__ if not isinstance(out, torch.Tensor) else f"tensor of shape {tuple(out.shape)}"
                raise ValueError(f"SPF attach point {path!r} must output a (B,C,H,W) feature map, got {got}")
            seen.append(BlockInfo(path, out.shape[1], tuple(out.shape[-2:])))

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    order = [b.path for b in seen]
    if len(set(order)) != len(order):
        raise ValueError(f"an SPF attach point runs more than once per forward: {order}")
    missing = [p for p in paths if p not in order]
    if missing:
        raise ValueError(f"SPF attach points never executed in forward: {missing}")
    return seen


class SPFFusion(nn.Module):
    """All SPF units of IR2 and the hooks that insert them.

    Usage: `with fusion.priors(i1, prior_map): i2 = ir2(i1)`. Outside that context the hooks
    are inactive and IR2 is the plain backbone. `fusion`: "injected" (every unit also gets
    [I1, M]) or "chain" (eq. 3 as printed); see the module docstring. `pad_multiple`: the
    backbone's; [I1, M] is zero-padded bottom/right like its input, so priors stay aligned.
    `hidden` (default: each block's width) is capped at `max_hidden` when given.
    """

    def __init__(self, ir2: nn.Module, paths: list[str], prior_channels: int, hidden: Optional[int] = None,
                 attention: str = "spatial_channel", resize_mode: str = "bilinear", residual: bool = True,
                 probe_size: int = 64, fusion: str = "chain", zero_init: bool = True, pad_multiple: int = 1,
                 max_hidden: Optional[int] = None):
        super().__init__()
        if not paths:
            raise ValueError(
                f"{type(ir2).__name__} declares no SPF attach points: set sam4ir.spf.attach_points "
                "to the module paths of its building blocks (see `samdistill models show NAME`)"
            )
        if fusion not in ("injected", "chain"):
            raise ValueError(f"SPF fusion must be 'injected' or 'chain', got {fusion!r}")
        blocks = probe_blocks(ir2, paths, probe_size)
        self.paths = [b.path for b in blocks]
        self.fusion, self.pad_multiple, self.resize_mode = fusion, max(1, int(pad_multiple)), resize_mode
        first = 3 + prior_channels  # [I1, M]
        injected = first if fusion == "injected" else 0
        units = []
        prev_ch = 0 if injected else first  # chain: F_0^SPF := [I1, M]
        for b in blocks:
            width = hidden or b.channels
            width = min(width, max_hidden) if max_hidden else width
            units.append(SPFUnit(prev_ch, b.channels, width, attention, resize_mode, residual, injected, zero_init))
            prev_ch = b.channels
        self.units = nn.ModuleList(units)
        self._state: Optional[dict] = None
        self._handles = [
            ir2.get_submodule(p).register_forward_hook(self._make_hook(i)) for i, p in enumerate(self.paths)
        ]

    def _make_hook(self, index: int):
        def hook(_module, _inputs, output):
            st = self._state
            if st is None:
                return None
            if st["next"] != index:
                raise RuntimeError(f"SPF unit {index} ({self.paths[index]}) ran out of the probed order")
            fused = self.units[index](st["prev"], output, self._prior_at(st, output))
            st["prev"], st["next"] = fused, index + 1
            return fused

        return hook

    def _prior_at(self, st: dict, feat: torch.Tensor) -> Optional[torch.Tensor]:
        """Injected [I1, M] at the block's size (downsampled once per size and forward)."""
        prior = st["prior"]
        if prior is None or _pixels(feat) >= _pixels(prior):
            return prior  # the unit projects before upsampling
        size = tuple(feat.shape[-2:])
        if size not in st["sized"]:
            st["sized"][size] = resize(prior, size, self.resize_mode)
        return st["sized"][size]

    def priors(self, restored: torch.Tensor, prior_map: torch.Tensor) -> "_FusionContext":
        first = pad_to_multiple(torch.cat([restored, prior_map.to(restored.dtype)], dim=1), self.pad_multiple)
        if self.fusion == "injected":
            return _FusionContext(self, {"prev": None, "prior": first, "sized": {}})
        return _FusionContext(self, {"prev": first, "prior": None})

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class _FusionContext:
    def __init__(self, fusion: SPFFusion, state: dict):
        self.fusion, self.state = fusion, state

    def __enter__(self) -> None:
        self.fusion._state = {**self.state, "next": 0}

    def __exit__(self, *exc) -> None:
        st = self.fusion._state
        self.fusion._state = None
        if exc[0] is None and st is not None and st["next"] != len(self.fusion.units):
            raise RuntimeError(f"only {st['next']} of {len(self.fusion.units)} SPF units ran in IR2's forward")
