"""Size, compute and CPU latency of every registered restoration network, and the check that a
network trained inside SAM4IR ships at exactly the bare network's size and speed.

For each backbone (all registered variants, full-size ones included):
  * parameters;
  * MACs of one forward pass at SIZE x SIZE, batch 1, counted by torch's FlopCounterMode
    (matmuls, convolutions, attention; element-wise ops are not counted) as FLOPs / 2;
  * CPU latency: median (and minimum) of REPEATS timed forward passes after WARMUP passes,
    batch 1, `torch.inference_mode`, THREADS intra-op threads;
  * framework round trip: a SAM4IRMethod is built around the network (IR2 + SPF units + SGR with
    the weight-free `random_conv` features, so no weights are needed), its shipped artifact is
    saved with `save_model_artifact(method.shipped_model(), *method.shipped_spec(), path)` and
    reloaded with `load_model_artifact`; the reloaded network's class, parameter count, output
    and latency are compared with the bare network (bare and shipped timings are interleaved so
    machine load affects both alike; the ratio uses the fastest runs, the least disturbed ones).

Usage (from the repository root):
    python benchmarks/speed/models.py --only nafnet_tiny rcdnet_tiny --repeats 20
    python benchmarks/speed/models.py --repeats 3 --threads 2 --json runs/models.json
Prints a Markdown table. Generic factories that need constructor arguments (`nafnet`, `uformer`)
are skipped; their named variants are measured.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from samdistill.models.artifact import load_model_artifact, save_model_artifact
from samdistill.engine.config import LossConfig
from samdistill.models.registry import backbone_info, create_backbone, list_backbones, pad_multiple
from samdistill.sam4ir.config import SAM4IRConfig, SGRConfig
from samdistill.sam4ir.method import SAM4IRMethod


@dataclass
class ModelRow:
    name: str
    task: str
    params: int
    macs: int
    pad_multiple: int
    latency_ms: float
    latency_min_ms: float = float("nan")
    shipped_class_same: Optional[bool] = None
    shipped_params: Optional[int] = None
    shipped_latency_ms: Optional[float] = None
    shipped_latency_min_ms: Optional[float] = None
    shipped_max_abs_diff: Optional[float] = None  # reloaded vs the trained IR1, same input

    @property
    def latency_ratio(self) -> Optional[float]:
        """shipped / bare, from the fastest runs (least disturbed by other load on the machine)."""
        return None if self.shipped_latency_min_ms is None else self.shipped_latency_min_ms / self.latency_min_ms


def buildable_backbones(only: Optional[list[str]] = None) -> list[str]:
    """Registered names that build without arguments (or exactly `only`, which must exist)."""
    names = list_backbones()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SystemExit(f"unknown backbone(s) {unknown}; registered: {', '.join(names)}")
        return list(only)
    keep = []
    for name in names:
        try:
            with torch.device("meta"):  # checks the arguments without allocating weights
                create_backbone(name)
        except TypeError:  # generic factory: needs width/depths arguments
            continue
        keep.append(name)
    return keep


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int) -> int:
    """Multiply-accumulates of one (1, 3, size, size) forward pass (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.rand(1, 3, size, size))
    return counter.get_total_flops() // 2


def _time_once(model: nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return (time.perf_counter() - start) * 1000.0


def latencies(models: list[nn.Module], size: int, repeats: int, warmup: int) -> list[tuple[float, float]]:
    """(median, min) forward time in ms of each model, runs interleaved model by model, batch 1."""
    x = torch.rand(1, 3, size, size)
    times: list[list[float]] = [[] for _ in models]
    with torch.inference_mode():
        for _ in range(warmup):
            for model in models:
                model(x)
        for _ in range(repeats):
            for i, model in enumerate(models):
                times[i].append(_time_once(model, x))
    return [(statistics.median(t), min(t)) for t in times]


def framework_shipped_model(name: str, folder: Path, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(IR1 as trained inside SAM4IR, the network reloaded from its shipped artifact)."""
    torch.manual_seed(seed)
    cfg = SAM4IRConfig(enabled=True, sgr=SGRConfig(features="random_conv"))
    method = SAM4IRMethod(name, {}, cfg, LossConfig(), seed=seed)
    path = save_model_artifact(method.shipped_model(), *method.shipped_spec(), folder / f"{name}.safetensors")
    return method.shipped_model().eval(), load_model_artifact(path)


def measure(name: str, size: int, repeats: int, warmup: int, framework: bool, log: Callable[[str], None]) -> ModelRow:
    torch.manual_seed(0)
    bare = create_backbone(name).eval()
    row = ModelRow(name, backbone_info(name)["task"], count_params(bare), count_macs(bare, size),
                   pad_multiple(bare), latency_ms=float("nan"))
    if not framework:
        (row.latency_ms, row.latency_min_ms), = latencies([bare], size, repeats, warmup)
        return row
    with tempfile.TemporaryDirectory() as tmp:
        trained, shipped = framework_shipped_model(name, Path(tmp))
    x = torch.rand(1, 3, size, size)
    with torch.inference_mode():
        row.shipped_max_abs_diff = float((trained(x) - shipped(x)).abs().max())
    del trained
    log(f"{name}: timing bare and shipped ({repeats} runs each)")
    (row.latency_ms, row.latency_min_ms), (row.shipped_latency_ms, row.shipped_latency_min_ms) = \
        latencies([bare, shipped], size, repeats, warmup)
    row.shipped_class_same = type(shipped) is type(bare)
    row.shipped_params = count_params(shipped)
    return row


def markdown_table(rows: list[ModelRow], size: int) -> str:
    lines = [f"| network | task | params (M) | GMACs @{size} | CPU ms @{size} median / min | shipped params (M) "
             f"| shipped CPU ms median / min | shipped / bare (min) | same class, max abs output diff |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        shipped = ("–", "–", "–", "–") if r.shipped_params is None else (
            f"{r.shipped_params / 1e6:.3f}", f"{r.shipped_latency_ms:.1f} / {r.shipped_latency_min_ms:.1f}",
            f"{r.latency_ratio:.2f}",
            f"{'yes' if r.shipped_class_same else 'NO'}, {r.shipped_max_abs_diff:.1e}")
        lines.append(f"| {r.name} | {r.task} | {r.params / 1e6:.3f} | {r.macs / 1e9:.2f} | "
                     f"{r.latency_ms:.1f} / {r.latency_min_ms:.1f} | "
                     + " | ".join(shipped) + " |")
    return "\n".join(lines)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="NAME", help="measure only these backbones (default: all buildable)")
    p.add_argument("--size", type=int, default=256, help="square input side in pixels (default 256)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op CPU threads (default 2)")
    p.add_argument("--repeats", type=int, default=10,
                   help="timed forward passes per network; the median and the minimum are reported")
    p.add_argument("--warmup", type=int, default=2, help="untimed forward passes before timing")
    p.add_argument("--no-framework", action="store_true", help="skip the SAM4IR build / save / reload check")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> list[ModelRow]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731 - progress on stderr
    rows = []
    for name in buildable_backbones(args.only):
        log(f"{name}: building and counting")
        rows.append(measure(name, args.size, args.repeats, args.warmup, not args.no_framework, log))
    print(f"CPU, {args.threads} thread(s), batch 1, {args.size}x{args.size}, median of {args.repeats} runs "
          f"after {args.warmup} warm-up; torch {torch.__version__}\n")
    print(markdown_table(rows, args.size))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
