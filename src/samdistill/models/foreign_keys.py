"""The authors' state-dict key layouts of our four backbones, and the exact mapping to ours.

Users fine-tune from the checkpoints the papers' authors released. Those files hold the same
tensors as our re-implementations, under the module names of the authors' code. Each layout below
was read off the official repository (module attributes and `nn.Sequential` positions; no code is
shared with them):

  NAFNet          megvii-research/NAFNet, basicsr/models/archs/NAFNet_arch.py (also BasicSR).
                  Same names as ours except the simplified channel attention, an
                  `nn.Sequential(AdaptiveAvgPool2d, Conv2d)` there: `sca.1.*` = our `sca.conv.*`.
  Uformer         ZhendongWang6/Uformer, model.py. Stages `encoderlayer_{i}`, `conv` (bottleneck),
                  `decoderlayer_{i}`; `dowsample_{i}.conv.0` / `upsample_{i}.deconv.0`;
                  `input_proj.proj.0`, `output_proj.proj.0`; in a block
                  `attn.relative_position_bias_table` (ours `attn.bias_table`), `modulator.weight`
                  (an nn.Embedding; ours a Parameter), LeFF's `linear1.0`/`dwconv.0`/`linear2.0`
                  (Sequentials). Its attention projects q and k,v with two Linears
                  (`attn.qkv.to_q`, `attn.qkv.to_kv` = [k; v]); ours uses one
                  `attn.qkv` = [q; k; v] (rows concatenated in that order). Its
                  `attn.relative_position_index` buffer is recomputed by ours: it is checked, not loaded.
  RCDNet          hongwang01/RCDNet, RCDNet_code/for_syn/src/model/rcdnet.py (`Mainnet`). Step sizes
                  `eta1` (unused, ours `unused_eta_m`), `eta2` (first B step, `eta_b_first`),
                  `eta11` / `eta12` (per-iteration M / B steps, `eta_m` / `eta_b`); rain kernels
                  `weight0` (`kernel_first`) and `conv` (`kernels`); `w_z_f` (`z_filter`); `tau`;
                  proximal nets `xnet` (`bnet_first`), `mnet` (unused, `unused_mnet`),
                  `x_stage.{s}` (`bnets.{s}`), `m_stage.{s}` (`mnets.{s}`), `fxnet`
                  (`bnet_final`); inside them residual blocks `resx1..4` / `resm1..4` (1-based;
                  ours `blocks.0..3`) and the M-net's threshold `tau` (ours `threshold`).
  EfficientDerain tsingqguo/efficientderain, network.py (`KPN`). `conv1..conv5` = our `enc1..enc4`,
                  `bottleneck`; `conv6..conv8` = `dec4..dec2`; inside each `Basic` the three convs
                  sit in `conv1.{0,2,4}` (ours `body.{0,2,4}`); `outc` = `kernel_head`,
                  `conv_final` = `fuse`. (Its optional attention, `att_c`/`att_s`, is off in the
                  released models and not implemented here: such keys are reported as unexpected.)

A rule pairs a template in the authors' names with one in ours. `{i}` stands for a number
(`{k+1}`: the same number plus one on that side); a leading `^` anchors at the start of the key, a
trailing `$` at its end; otherwise a template matches whole dot-separated segments anywhere. Rules
are applied in order to go to our names and in reverse order to go back, so every layout can also
write the authors' format (tests use that to make files in the authors' layout).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
import torch.nn as nn

State = dict[str, torch.Tensor]
_PLACEHOLDER = re.compile(r"\{(\w+)([+-]\d+)?\}")


class _Template:
    def __init__(self, text: str):
        self.text = text
        start, end = text.startswith("^"), text.endswith("$")
        self.body = text[1 if start else 0: -1 if end else None]
        self.offsets: dict[str, int] = {}
        pattern, pos = "", 0
        for m in _PLACEHOLDER.finditer(self.body):
            pattern += re.escape(self.body[pos:m.start()]) + f"(?P<{m[1]}>\\d+)"
            self.offsets[m[1]] = int(m[2] or 0)
            pos = m.end()
        pattern += re.escape(self.body[pos:])
        self.regex = re.compile(("^" if start else r"(?:^|(?<=\.))") + pattern + ("$" if end else r"(?=\.|$)"))

    def numbers(self, match: re.Match) -> dict[str, int]:
        """The placeholders' canonical values (offsets removed)."""
        return {name: int(match[name]) - off for name, off in self.offsets.items()}

    def format(self, numbers: dict[str, int]) -> str:
        return _PLACEHOLDER.sub(lambda m: str(numbers[m[1]] + int(m[2] or 0)), self.body)


@dataclass(frozen=True)
class Fuse:
    """Several of the authors' tensors stacked (dim 0, in this order) into one of ours."""

    parts: tuple[str, ...]  # the authors' module paths relative to a common prefix, e.g. "attn.qkv.to_q"
    into: str  # ours, e.g. "attn.qkv"
    ratio: tuple[int, ...]  # relative sizes along dim 0 (to_q: 1, to_kv: 2)


@dataclass
class KeyLayout:
    """One architecture's authors' key layout: renames, fused tensors, recomputed buffers."""

    arch: str
    source: str
    renames: tuple[tuple[str, str], ...]
    fuses: tuple[Fuse, ...] = ()
    # Buffers the authors save that our module recomputes: (suffix, check(authors_state, key) -> problem or "",
    # make(authors_state, key_of_sibling) -> (key, tensor) for writing the authors' format).
    recomputed: tuple["Recomputed", ...] = ()
    # Our keys (prefixes) that exist only to mirror the authors' layout and may be absent from a model
    # built without them (RCDNet keep_reference_unused=False): dropped from a file when the model lacks them.
    optional_prefixes: tuple[str, ...] = ()
    _rules: list[tuple[_Template, _Template]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rules = [(_Template(a), _Template(o)) for a, o in self.renames]

    # -------------------------------------------------------------- names
    def our_name(self, key: str) -> str:
        for authors, ours in self._rules:
            key = authors.regex.sub(lambda m, a=authors, o=ours: o.format(a.numbers(m)), key)
        return key

    def authors_name(self, key: str) -> str:
        for authors, ours in reversed(self._rules):
            key = ours.regex.sub(lambda m, a=authors, o=ours: a.format(o.numbers(m)), key)
        return key

    # -------------------------------------------------------------- whole state dicts
    def to_ours(self, state: State) -> tuple[State, dict[str, str], list[str]]:
        """(state under our names, our key -> the file's key(s), problems with recomputed buffers)."""
        state = dict(state)
        origin: dict[str, str] = {}
        problems: list[str] = []
        for rec in self.recomputed:
            for key in [k for k in state if k.endswith(rec.suffix)]:
                problem = rec.check(state, key)
                if problem:
                    problems.append(f"{key}: {problem}")
                del state[key]
        for fuse in self.fuses:
            first = "." + fuse.parts[0] + "."
            for key in [k for k in state if first in "." + k]:
                prefix, param = _split_around(key, fuse.parts[0])
                names = [f"{prefix}{part}.{param}" for part in fuse.parts]
                if not all(n in state for n in names):
                    continue  # left alone: reported as missing/unexpected by the caller
                tensors = [state.pop(n) for n in names]
                fused = f"{prefix}{fuse.into}.{param}"
                state[fused] = torch.cat(tensors, dim=0)
                origin[fused] = " + ".join(names)
        out: State = {}
        for key, value in state.items():
            new = self.our_name(key)
            out[new] = value
            origin[new] = origin.get(key, key)
        return out, origin, problems

    def to_authors(self, state: State) -> State:
        """Our state dict written in the authors' layout (what their code saves)."""
        renamed = {self.authors_name(k): v for k, v in state.items()}
        for fuse in self.fuses:
            tail = "." + fuse.into + "."
            for key in [k for k in renamed if tail in "." + k]:
                prefix, param = _split_around(key, fuse.into)
                value = renamed.pop(key)
                unit, rest = divmod(value.shape[0], sum(fuse.ratio))
                if rest:
                    raise ValueError(f"{key}: {value.shape[0]} rows cannot be split {fuse.ratio}")
                for part, chunk in zip(fuse.parts, torch.split(value, [r * unit for r in fuse.ratio], dim=0)):
                    renamed[f"{prefix}{part}.{param}"] = chunk.clone()
        for rec in self.recomputed:
            for key in [k for k in renamed if k.endswith(rec.sibling)]:
                new_key, tensor = rec.make(renamed, key)
                renamed[new_key] = tensor
        return renamed


@dataclass(frozen=True)
class Recomputed:
    suffix: str  # the authors' buffer, e.g. "attn.relative_position_index"
    sibling: str  # the key it is derived from, e.g. "attn.relative_position_bias_table"
    check: Callable[[State, str], str]
    make: Callable[[State, str], tuple[str, torch.Tensor]]


def _split_around(key: str, path: str) -> tuple[str, str]:
    """'a.b.attn.qkv.to_q.weight', 'attn.qkv.to_q' -> ('a.b.', 'weight')."""
    idx = ("." + key).index("." + path + ".")
    return key[:idx], key[idx + len(path) + 1:]


# ------------------------------------------------------------------ Uformer's window index buffer

def _window_from_table(rows: int) -> Optional[int]:
    side = math.isqrt(rows)
    if side * side != rows or side % 2 == 0:
        return None
    return (side + 1) // 2


def _uformer_index_check(state: State, key: str) -> str:
    from samdistill.models.uformer import relative_position_index

    table = state.get(key[: -len("relative_position_index")] + "relative_position_bias_table")
    index = state[key]
    if table is None:
        return ""  # the missing table is reported on its own
    win = _window_from_table(table.shape[0])
    if win is None or tuple(index.shape) != (win * win, win * win):
        return f"shape {tuple(index.shape)} does not fit a square window of its bias table ({table.shape[0]} rows)"
    if not torch.equal(index.long().cpu(), relative_position_index(win)):
        return "not the relative position index of a square window (windows of another shape are not supported)"
    return ""


def _uformer_index_make(state: State, table_key: str) -> tuple[str, torch.Tensor]:
    from samdistill.models.uformer import relative_position_index

    win = _window_from_table(state[table_key].shape[0])
    assert win is not None, table_key
    return table_key[: -len("relative_position_bias_table")] + "relative_position_index", relative_position_index(win)


# ------------------------------------------------------------------ the four layouts

NAFNET = KeyLayout(
    arch="NAFNet",
    source="megvii-research/NAFNet basicsr/models/archs/NAFNet_arch.py",
    renames=(("sca.1", "sca.conv"),),
)

UFORMER = KeyLayout(
    arch="Uformer",
    source="ZhendongWang6/Uformer model.py",
    renames=(
        ("^input_proj.proj.0", "^input_proj.0"),
        ("^output_proj.proj.0", "^output_proj"),
        ("^encoderlayer_{i}", "^encoders.{i}"),
        ("^dowsample_{i}.conv.0", "^downs.{i}"),
        ("^conv", "^bottleneck"),
        ("^upsample_{i}.deconv.0", "^ups.{i}"),
        ("^decoderlayer_{i}", "^decoders.{i}"),
        ("attn.relative_position_bias_table", "attn.bias_table"),
        ("modulator.weight$", "modulator$"),
        ("mlp.linear1.0", "mlp.linear1"),
        ("mlp.dwconv.0", "mlp.dwconv"),
        ("mlp.linear2.0", "mlp.linear2"),
    ),
    fuses=(Fuse(parts=("attn.qkv.to_q", "attn.qkv.to_kv"), into="attn.qkv", ratio=(1, 2)),),
    recomputed=(Recomputed("attn.relative_position_index", "attn.relative_position_bias_table",
                           _uformer_index_check, _uformer_index_make),),
)

RCDNET = KeyLayout(
    arch="RCDNet",
    source="hongwang01/RCDNet RCDNet_code/for_syn/src/model/rcdnet.py",
    renames=(
        ("^eta1$", "^unused_eta_m$"),
        ("^eta2$", "^eta_b_first$"),
        ("^eta11$", "^eta_m$"),
        ("^eta12$", "^eta_b$"),
        ("^weight0$", "^kernel_first$"),
        ("^conv$", "^kernels$"),
        ("^w_z_f$", "^z_filter$"),
        ("^xnet.resx{k+1}", "^bnet_first.blocks.{k}"),
        ("^mnet.resm{k+1}", "^unused_mnet.blocks.{k}"),
        ("^mnet.tau$", "^unused_mnet.threshold$"),
        ("^x_stage.{s}.resx{k+1}", "^bnets.{s}.blocks.{k}"),
        ("^m_stage.{s}.resm{k+1}", "^mnets.{s}.blocks.{k}"),
        ("^m_stage.{s}.tau$", "^mnets.{s}.threshold$"),
        ("^fxnet.resx{k+1}", "^bnet_final.blocks.{k}"),
    ),
    optional_prefixes=("unused_mnet.", "unused_eta_m"),
)

EFFICIENTDERAIN = KeyLayout(
    arch="EfficientDerain",
    source="tsingqguo/efficientderain network.py (KPN)",
    renames=tuple((f"^conv{n}.conv1", f"^{ours}.body") for n, ours in enumerate(
        ("enc1", "enc2", "enc3", "enc4", "bottleneck", "dec4", "dec3", "dec2"), start=1))
    + (("^outc", "^kernel_head"), ("^conv_final", "^fuse")),
)

LAYOUTS = {layout.arch: layout for layout in (NAFNET, UFORMER, RCDNET, EFFICIENTDERAIN)}


def layout_for(model: nn.Module) -> Optional[KeyLayout]:
    """The authors' layout of one of our four architectures (None for any other network)."""
    from samdistill.models.efficientderain import EfficientDerain
    from samdistill.models.nafnet import NAFNet
    from samdistill.models.rcdnet import RCDNet
    from samdistill.models.uformer import Uformer

    for cls, layout in ((NAFNet, NAFNET), (Uformer, UFORMER), (RCDNet, RCDNET), (EfficientDerain, EFFICIENTDERAIN)):
        if isinstance(model, cls):
            return layout
    return None


# ------------------------------------------------------------------ which backbone is this?

def _count(keys: list[str], pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m[1] for k in keys if (m := regex.match(k))})


def guess_backbone(state: State) -> Optional[tuple[str, dict]]:
    """(registered name, constructor args) of the architecture whose keys `state` has, in our layout
    or the authors'; None when it looks like none of the four. Used for hints only: a user confirms
    with --backbone/--args."""
    keys = list(state)
    shape = lambda k: tuple(state[k].shape)  # noqa: E731
    if "intro.weight" in state and "ending.weight" in state:
        n = _count(keys, r"^downs\.(\d+)\.")
        args = {"width": shape("intro.weight")[0],
                "enc_blk_nums": [_count(keys, rf"^encoders\.{i}\.(\d+)\.") for i in range(n)],
                "middle_blk_num": _count(keys, r"^middle_blks\.(\d+)\."),
                "dec_blk_nums": [_count(keys, rf"^decoders\.{i}\.(\d+)\.") for i in range(n)]}
        if shape("intro.weight")[1] != 3:
            args["img_channel"] = shape("intro.weight")[1]
        return "nafnet", args
    ours = {UFORMER.our_name(k): k for k in keys}
    if "input_proj.0.weight" in ours and any(k.startswith("encoders.0.blocks.") for k in ours):
        st = {o: state[a] for o, a in ours.items()}
        stages = [f"encoders.{i}" for i in range(4)] + ["bottleneck"] + [f"decoders.{i}" for i in range(4)]
        depths = [_count(list(st), rf"^{re.escape(s)}\.blocks\.(\d+)\.") for s in stages]
        heads = [st[f"{s}.blocks.0.attn.bias_table"].shape[1] if f"{s}.blocks.0.attn.bias_table" in st else 0
                 for s in stages]
        embed = st["input_proj.0.weight"].shape[0]
        table = st.get("encoders.0.blocks.0.attn.bias_table")
        args: dict = {"embed_dim": embed, "depths": depths, "num_heads": heads}
        if table is not None and _window_from_table(table.shape[0]):
            args["win_size"] = _window_from_table(table.shape[0])
        hidden = st.get("encoders.0.blocks.0.mlp.linear1.weight")
        if hidden is not None:
            args["mlp_ratio"] = hidden.shape[0] / embed
        args["modulator"] = any(k.endswith(".modulator") for k in st)
        return "uformer", args
    ours_r = {RCDNET.our_name(k): k for k in keys}
    if "z_filter" in ours_r and "kernels" in ours_r:
        st = {o: state[a] for o, a in ours_r.items()}
        args = {"stages": _count(list(st), r"^bnets\.(\d+)\."), "num_m": st["kernel_first"].shape[1],
                "num_z": st["z_filter"].shape[0], "blocks": _count(list(st), r"^bnet_final\.blocks\.(\d+)\."),
                "kernel_size": st["kernel_first"].shape[-1]}
        if "unused_eta_m" not in st:
            args["keep_reference_unused"] = False
        return "rcdnet", args
    ours_e = {EFFICIENTDERAIN.our_name(k): k for k in keys}
    if "fuse.weight" in ours_e and "kernel_head.weight" in ours_e:
        st = {o: state[a] for o, a in ours_e.items()}
        widths = [st[f"{n}.body.0.weight"].shape[0] for n in ("enc1", "enc2", "enc3", "enc4", "bottleneck")
                  if f"{n}.body.0.weight" in st]
        kernel = math.isqrt(st["kernel_head.weight"].shape[0] // 3)
        args = {"widths": widths}
        if kernel != 3:
            args["kernel_size"] = kernel
        n_dil = st["fuse.weight"].shape[1] // 3
        if n_dil != 4:
            args["dilations"] = list(range(1, n_dil + 1))
        return "efficientderain", args
    return None
