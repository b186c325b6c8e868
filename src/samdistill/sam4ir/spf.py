"""SPF, Semantic Prior Fusion (paper eq. 3, Fig. 3), inserted into IR2 with forward hooks.

IR2 is an unmodified instance of the user's backbone. Each of its building blocks (attach point)
gets one SPF unit; a forward hook replaces the block's output F_i by

    F_i^SPF = f_i^SPF([resize(F_{i-1}^SPF), F_i]),     F_0^SPF := [I1, M]

so the next block computes F_{i+1} = f(F_i^SPF). A unit is two conv blocks on the concatenation
(resizing the previous output to the block's resolution), then the Semantic Selection Attention
(an attention map multiplied element-wise with the fused features). The unit's result is added
to F_i (`residual`, our choice: the unit starts as a small perturbation of the pretrained-free
block instead of replacing it, which keeps IR2's early training stable; the paper's figure does
not say). Units are built for the blocks in the order the backbone *executes* them, discovered
by a probe forward, so any network works without being edited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


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


class SPFUnit(nn.Module):
    """One unit f_i^SPF: [prev, F_i] -> conv block -> conv block -> SSA (-> + F_i).

    The first block mixes the concatenated channels with a 1x1 conv, the second adds 3x3 spatial
    context (depthwise, then a 1x1 projection): a unit costs less than one plain 3x3 conv of the
    block's width, so IR2 stays close to IR1's cost (Fig. 3 shows two conv blocks but no kernel
    sizes).
    """

    def __init__(self, prev_channels: int, block_channels: int, hidden: Optional[int] = None,
                 attention: str = "spatial_channel", resize_mode: str = "bilinear", residual: bool = True):
        super().__init__()
        hidden = hidden or block_channels
        self.resize_mode = resize_mode
        self.residual = residual
        self.conv1 = nn.Sequential(nn.Conv2d(prev_channels + block_channels, hidden, 1), nn.GELU())
        self.conv2 = nn.Sequential(  # depthwise 3x3 context + pointwise projection to the block width
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden), nn.Conv2d(hidden, block_channels, 1), nn.GELU())
        self.ssa = SemanticSelectionAttention(block_channels, attention)

    def _resize(self, prev: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if prev.shape[-2:] == size:
            return prev
        if self.resize_mode == "area":
            return F.adaptive_avg_pool2d(prev, size)
        kw = {"align_corners": False} if self.resize_mode == "bilinear" else {}
        return F.interpolate(prev, size=size, mode=self.resize_mode, **kw)

    def forward(self, prev: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        fused = self.ssa(self.conv2(self.conv1[1](self._mix(prev.to(feat.dtype), feat))))
        return feat + fused if self.residual else fused

    def _mix(self, prev: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """conv1's 1x1 conv on [resize(prev), F_i], computed without the concatenation.

        A 1x1 conv is W_prev·prev + W_feat·F_i + b, and the resizes (bilinear, nearest, area
        weights sum to 1) commute with a per-pixel affine map. So the prev half is projected at
        whichever resolution has fewer pixels: before upsampling (decoder side), after
        downsampling (encoder side). Same function and parameters, no concatenated copy.
        """
        conv = self.conv1[0]
        n_prev = prev.shape[1]
        w_prev, w_feat = conv.weight[:, :n_prev], conv.weight[:, n_prev:]
        size = feat.shape[-2:]
        if prev.shape[-2] * prev.shape[-1] < size[0] * size[1]:
            mixed = self._resize(F.conv2d(prev, w_prev, conv.bias), size)
        else:
            mixed = F.conv2d(self._resize(prev, size), w_prev, conv.bias)
        return mixed + F.conv2d(feat, w_feat)


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
    are inactive and IR2 is the plain backbone.
    """

    def __init__(self, ir2: nn.Module, paths: list[str], prior_channels: int, hidden: Optional[int] = None,
                 attention: str = "spatial_channel", resize_mode: str = "bilinear", residual: bool = True,
                 probe_size: int = 64):
        super().__init__()
        if not paths:
            raise ValueError(
                f"{type(ir2).__name__} declares no SPF attach points: set sam4ir.spf.attach_points "
                "to the module paths of its building blocks (see `samdistill models show NAME`)"
            )
        blocks = probe_blocks(ir2, paths, probe_size)
        self.paths = [b.path for b in blocks]
        units = []
        prev_ch = 3 + prior_channels  # F_0^SPF = [I1, M]
        for b in blocks:
            units.append(SPFUnit(prev_ch, b.channels, hidden, attention, resize_mode, residual))
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
            fused = self.units[index](st["prev"], output)
            st["prev"], st["next"] = fused, index + 1
            return fused

        return hook

    def priors(self, restored: torch.Tensor, prior_map: torch.Tensor) -> "_FusionContext":
        return _FusionContext(self, torch.cat([restored, prior_map.to(restored.dtype)], dim=1))

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class _FusionContext:
    def __init__(self, fusion: SPFFusion, first: torch.Tensor):
        self.fusion, self.first = fusion, first

    def __enter__(self) -> None:
        self.fusion._state = {"prev": self.first, "next": 0}

    def __exit__(self, *exc) -> None:
        st = self.fusion._state
        self.fusion._state = None
        if exc[0] is None and st is not None and st["next"] != len(self.fusion.units):
            raise RuntimeError(f"only {st['next']} of {len(self.fusion.units)} SPF units ran in IR2's forward")
