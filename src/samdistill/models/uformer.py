"""Uformer: A General U-Shaped Transformer for Image Restoration (Wang et al., CVPR 2022).

A U-Net whose stages are LeWin transformer blocks: self-attention inside non-overlapping
win_size x win_size windows (alternate blocks shift the windows by half a window, as Swin does),
with a learned relative position bias, followed by LeFF (linear -> 3x3 depthwise conv -> linear,
GELU). Encoders downsample with a 4x4 stride-2 conv, decoders upsample with a 2x2 stride-2
transposed conv and concatenate the skip (so decoder stages are twice as wide). Decoder blocks
carry the learnable multi-scale restoration modulator: a window-sized bias added to every window's
tokens before attention.

Variants (embed_dim, depths, modulator) -> parameters, matching the paper's table within 1%:
  uformer_t: 16, [2]*9,                       modulator -> 5.29M
  uformer_s: 32, [2]*9,                       modulator -> 20.75M
  uformer_b: 32, [1, 2, 8, 8, 2, 8, 8, 2, 1], modulator -> 50.88M
(the reference's T/S/B training configurations all enable the modulator; it adds only
win_size**2 * dim per decoder block: without it T/S/B have 5.23M/20.63M/50.47M). Heads are [1, 2, 4, 8, 16, 16, 8, 4, 2], win_size 8,
mlp_ratio 4, qkv bias on.

Stages take and return (B, C, H, W) maps (tokens are (B, H, W, C) inside), so SPF hooks see
ordinary feature maps. Because the bottleneck runs at 1/16 resolution in whole windows, inputs are
zero-padded to a multiple of `pad_multiple` = win_size * 16 (= 128) and the output is cropped back.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from samdistill.models._padding import check_image_batch, crop_to, pad_to_multiple
from samdistill.models.registry import register_backbone

PAPER = "Wang et al., Uformer: A General U-Shaped Transformer for Image Restoration, CVPR 2022"
LEVELS = 4  # encoder (and decoder) stages
DEFAULT_HEADS = (1, 2, 4, 8, 16, 16, 8, 4, 2)


def window_partition(x: torch.Tensor, win: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * num_windows, win * win, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // win, win, w // win, win, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, win * win, c)


def window_merge(windows: torch.Tensor, win: int, b: int, h: int, w: int) -> torch.Tensor:
    """Inverse of window_partition: (B * num_windows, win * win, C) -> (B, H, W, C)."""
    x = windows.view(b, h // win, w // win, win, win, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, -1)


def relative_position_index(win: int) -> torch.Tensor:
    """(win*win, win*win) index into the (2*win-1)**2 bias table for every token pair."""
    coords = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (win - 1)
    return rel[..., 0] * (2 * win - 1) + rel[..., 1]


def shifted_window_mask(h: int, w: int, win: int, shift: int, device: torch.device) -> torch.Tensor:
    """(num_windows, N, N) additive mask: after the cyclic shift, tokens that were not neighbours
    in the image (they wrapped around the border) must not attend to each other."""
    region = torch.zeros(1, h, w, 1, device=device)
    bounds = (slice(0, -win), slice(-win, -shift), slice(-shift, None))
    for label, (hs, ws) in enumerate((hs, ws) for hs in bounds for ws in bounds):
        region[:, hs, ws, :] = label
    labels = window_partition(region, win).squeeze(-1)
    different = labels[:, None, :] != labels[:, :, None]
    return different.float() * -100.0


class WindowAttention(nn.Module):
    """Multi-head self-attention within each window, plus a learned relative position bias."""

    def __init__(self, dim: int, num_heads: int, win: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Uformer: width {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.bias_table = nn.Parameter(torch.zeros((2 * win - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer("bias_index", relative_position_index(win), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B*nW, N, C); mask: (nW, N, N) additive or None."""
        bw, n, c = x.shape
        q, k, v = self.qkv(x).view(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        bias = self.bias_table[self.bias_index.view(-1)].view(n, n, -1).permute(2, 0, 1)  # (heads, N, N)
        bias = bias.unsqueeze(0).to(q.dtype)
        if mask is not None:
            nw = mask.shape[0]
            bias = (bias.view(1, 1, self.num_heads, n, n) + mask.view(1, nw, 1, n, n).to(q.dtype))
            bias = bias.expand(bw // nw, -1, -1, -1, -1).reshape(bw, self.num_heads, n, n)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class LeFF(nn.Module):
    """Locally-enhanced feed-forward: linear -> GELU -> 3x3 depthwise conv -> GELU -> linear."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) tokens."""
        x = self.act(self.linear1(x)).permute(0, 3, 1, 2)
        x = self.act(self.dwconv(x)).permute(0, 2, 3, 1)
        return self.linear2(x)


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the whole residual branch for random samples while training."""
    if rate == 0.0 or not training:
        return x
    keep = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device) >= rate
    return x * keep.to(x.dtype) / (1.0 - rate)


class LeWinBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, win: int, shift: bool, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, modulator: bool = False, drop_path_rate: float = 0.0):
        super().__init__()
        self.win, self.shift = win, win // 2 if shift else 0
        self.drop_path_rate = drop_path_rate
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, win, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = LeFF(dim, int(dim * mlp_ratio))
        # Restoration modulator: one learned bias per window position (N(0,1) init, as nn.Embedding).
        self.modulator = nn.Parameter(torch.randn(win * win, dim)) if modulator else None

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        # A map no larger than one window has nothing to shift across (the reference disables it too).
        shift = self.shift if min(h, w) > self.win else 0
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
        windows = window_partition(x, self.win)
        if self.modulator is not None:
            windows = windows + self.modulator.to(windows.dtype)
        mask = shifted_window_mask(h, w, self.win, shift, x.device) if shift else None
        x = window_merge(self.attn(windows, mask), self.win, b, h, w)
        return torch.roll(x, shifts=(shift, shift), dims=(1, 2)) if shift else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C), H and W multiples of win."""
        x = x + drop_path(self._attention(self.norm1(x)), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class UformerStage(nn.Module):
    """A run of LeWin blocks (windows shifted in every second one) on a (B, C, H, W) map."""

    def __init__(self, dim: int, depth: int, num_heads: int, win: int, mlp_ratio: float, qkv_bias: bool,
                 modulator: bool, drop_path_rates: Sequence[float]):
        super().__init__()
        self.blocks = nn.ModuleList(
            LeWinBlock(dim, num_heads, win, shift=i % 2 == 1, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                       modulator=modulator, drop_path_rate=drop_path_rates[i])
            for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x)
        return x.permute(0, 3, 1, 2).contiguous()


def _drop_path_schedule(depths: Sequence[int], rate: float) -> list[list[float]]:
    """Per-stage rates: rising 0 -> rate through the encoder, rate in the bottleneck, falling back."""
    enc_total, dec_total = sum(depths[:LEVELS]), sum(depths[LEVELS + 1:])
    enc = [rate * i / max(enc_total - 1, 1) for i in range(enc_total)]  # plain floats: works on any device
    dec = [rate * (1 - i / max(dec_total - 1, 1)) for i in range(dec_total)]
    stages, start = [], 0
    for d in depths[:LEVELS]:
        stages.append(enc[start:start + d])
        start += d
    stages.append([rate] * depths[LEVELS])
    start = 0
    for d in depths[LEVELS + 1:]:
        stages.append(dec[start:start + d])
        start += d
    return stages


class Uformer(nn.Module):
    """U-shaped LeWin transformer: (B, 3, H, W) -> (B, 3, H, W), any H and W (padded internally).

    Attach points (`spf_attach_points`): encoders.0-3, bottleneck, decoders.0-3, all (B, C, H, W).
    """

    def __init__(self, embed_dim: int = 32, depths: Sequence[int] = (2,) * 9,
                 num_heads: Sequence[int] = DEFAULT_HEADS, win_size: int = 8, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, modulator: bool = True, drop_path_rate: float = 0.1, in_chans: int = 3):
        super().__init__()
        if len(depths) != 2 * LEVELS + 1 or len(num_heads) != 2 * LEVELS + 1:
            raise ValueError(f"Uformer needs {2 * LEVELS + 1} depths and num_heads (4 encoder stages, "
                             f"bottleneck, 4 decoder stages), got depths={list(depths)}, num_heads={list(num_heads)}")
        self.in_chans = in_chans
        self.pad_multiple = win_size * 2 ** LEVELS
        rates = _drop_path_schedule(depths, drop_path_rate)

        def stage(i: int, dim: int, modulated: bool) -> UformerStage:
            return UformerStage(dim, depths[i], num_heads[i], win_size, mlp_ratio, qkv_bias, modulated, rates[i])

        self.input_proj = nn.Sequential(nn.Conv2d(in_chans, embed_dim, 3, padding=1), nn.LeakyReLU(inplace=True))
        widths = [embed_dim * 2 ** i for i in range(LEVELS + 1)]  # 1x, 2x, 4x, 8x, 16x (bottleneck)
        self.encoders = nn.ModuleList(stage(i, widths[i], False) for i in range(LEVELS))
        self.downs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1) for i in range(LEVELS))
        self.bottleneck = stage(LEVELS, widths[LEVELS], False)
        # Decoder level j works at encoder level k = LEVELS-1-j on [upsampled, skip] = 2 * widths[k] channels.
        levels = [LEVELS - 1 - j for j in range(LEVELS)]
        up_in = [widths[LEVELS]] + [2 * widths[k + 1] for k in levels[1:]]
        self.ups = nn.ModuleList(nn.ConvTranspose2d(c, widths[k], 2, stride=2) for c, k in zip(up_in, levels))
        self.decoders = nn.ModuleList(stage(LEVELS + 1 + j, 2 * widths[k], modulator) for j, k in enumerate(levels))
        self.output_proj = nn.Conv2d(2 * embed_dim, in_chans, 3, padding=1)
        self.apply(_init_linear_and_norm)
        self.spf_attach_points = ([f"encoders.{i}" for i in range(LEVELS)] + ["bottleneck"]
                                  + [f"decoders.{j}" for j in range(LEVELS)])

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        check_image_batch(inp, self.in_chans, type(self).__name__)
        height, width = inp.shape[-2:]
        inp = pad_to_multiple(inp, self.pad_multiple)
        x = self.input_proj(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return crop_to(inp + self.output_proj(x), height, width)


def _init_linear_and_norm(module: nn.Module) -> None:
    """The reference's init: truncated-normal(0.02) linear weights, zero biases, unit LayerNorm."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


@register_backbone("uformer", paper=PAPER)
def uformer(embed_dim: int, depths: Sequence[int] = (2,) * 9, num_heads: Sequence[int] = DEFAULT_HEADS,
            win_size: int = 8, mlp_ratio: float = 4.0, modulator: bool = True, drop_path_rate: float = 0.1) -> Uformer:
    """Uformer with explicit width, depths and heads."""
    return Uformer(embed_dim, depths, num_heads, win_size, mlp_ratio, True, modulator, drop_path_rate)


@register_backbone("uformer_t", paper=PAPER)
def uformer_t(drop_path_rate: float = 0.1) -> Uformer:
    """Uformer-T (embed_dim 16, 5.29M parameters)."""
    return Uformer(16, (2,) * 9, drop_path_rate=drop_path_rate)


@register_backbone("uformer_s", paper=PAPER)
def uformer_s(drop_path_rate: float = 0.1) -> Uformer:
    """Uformer-S (embed_dim 32, 20.75M parameters)."""
    return Uformer(32, (2,) * 9, drop_path_rate=drop_path_rate)


@register_backbone("uformer_b", paper=PAPER)
def uformer_b(drop_path_rate: float = 0.1) -> Uformer:
    """Uformer-B (embed_dim 32, deeper middle stages, 50.88M parameters)."""
    return Uformer(32, (1, 2, 8, 8, 2, 8, 8, 2, 1), drop_path_rate=drop_path_rate)


@register_backbone("uformer_tiny", paper=PAPER)
def uformer_tiny(embed_dim: int = 4, drop_path_rate: float = 0.0) -> Uformer:
    """Small CPU-friendly Uformer for tests (embed_dim 4, one block per stage, 0.22M parameters).

    embed_dim 8 would be 0.81M: the 16x-wide bottleneck and first decoder stage dominate.
    """
    return Uformer(embed_dim, (1,) * 9, drop_path_rate=drop_path_rate)
