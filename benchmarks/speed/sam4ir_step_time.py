"""Training step time of SAM4IR vs the plain baseline, with a breakdown.

    .venv/bin/python benchmarks/speed/sam4ir_step_time.py [--backbone nafnet_tiny] [--batch 8] [--crop 64]
        [--relation vgg16|random_conv] [--steps 20] [--device cpu|cuda] [--amp bf16|fp16|no]
        [--no-fused] [--keep-denormals] [--set sam4ir.spf.hidden_channels=16 ...] [--json PATH]

Priors come from the cache (prior_source=gt, filled before timing), as in a real run.
The three step kinds run interleaved (one of each per round; median per kind).
Rows: baseline step (IR1 fwd+bwd+Adam); +IR2/SPF/SPD (no SGR); full framework (+ relation net);
prior loading (dataset items with vs without masks, per batch). VGG16 has the real architecture
with random weights (the timing does not depend on the weights). Denormal floats are flushed to
zero as the trainer does (train.flush_denormal); --keep-denormals shows what that saves.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from samdistill.config.loader import apply_overrides, config_from_dict
from samdistill.data.paired import PairedImageDataset
from samdistill.engine.config import LossConfig, OptimizerConfig
from samdistill.engine.optim import build_optimizer
from samdistill.methods.plain import PlainRestoration
from samdistill.sam4ir.method import SAM4IRMethod
from samdistill.sam4ir.priors import build_prior_provider
from samdistill.sam4ir.vgg import build_vgg


def _timed_steps(methods, batches, steps, device, amp, fused=True) -> list[float]:
    """Median step time of each method, their steps interleaved (one of each per round), so a
    change in background load or memory state affects every row alike."""
    opts = [build_optimizer(m, OptimizerConfig(lr=1e-4, fused=fused)) for m in methods]  # what the trainer builds
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    times: list[list[float]] = [[] for _ in methods]
    for i in range(steps + 3):
        batch = {k: v.to(device) for k, v in batches[i % len(batches)].items() if torch.is_tensor(v)}
        for method, opt, ts in zip(methods, opts, times):
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
                loss = method(batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 3:  # warm-up
                ts.append(time.perf_counter() - t)
    return [sorted(ts)[len(ts) // 2] for ts in times]


def _batches(ds, batch, n):
    items = [ds[i % len(ds)] for i in range(batch * n)]
    out = []
    for b in range(n):
        chunk = items[b * batch:(b + 1) * batch]
        out.append({k: torch.stack([c[k] for c in chunk]) for k in chunk[0] if torch.is_tensor(chunk[0][k])})
    return out


def _load_time(ds, batch, n=4) -> float:
    t = time.perf_counter()
    for i in range(batch * n):
        ds[i % len(ds)]
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", default="nafnet_tiny")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--relation", choices=["vgg16", "random_conv"], default="vgg16")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", choices=["no", "bf16", "fp16"], default="no")
    ap.add_argument("--relation-mode", choices=["masked_map", "pooled"], default="pooled")
    ap.add_argument("--no-fused", action="store_true", help="Adam's per-tensor loop instead of the fused kernel")
    ap.add_argument("--keep-denormals", action="store_true",
                    help="do not flush denormal floats to zero (the trainer flushes them: train.flush_denormal)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra config override for the framework, e.g. sam4ir.spf.attention=channel")
    args = ap.parse_args()
    torch.set_flush_denormal(not args.keep_denormals)

    cfg = config_from_dict(apply_overrides({}, [
        f"model.name={args.backbone}", f"data.crop_size={args.crop}", "sam4ir.enabled=true",
        "sam4ir.prior_source=gt", "sam4ir.sgr.features=random_conv", f"sam4ir.sgr.relation={args.relation_mode}", *args.set]))
    provider = build_prior_provider(cfg)
    plain_ds = PairedImageDataset(cfg.data.train, crop_size=args.crop, augment=cfg.data.augment)
    prior_ds = PairedImageDataset(cfg.data.train, crop_size=args.crop, augment=cfg.data.augment, prior_provider=provider)
    for i in range(len(prior_ds)):  # fill the mask cache (what `priors precompute` does)
        prior_ds[i]
    batches = _batches(prior_ds, args.batch, 4)

    torch.manual_seed(0)
    loss = LossConfig(name="l1")
    base = PlainRestoration(args.backbone, {}, loss).to(args.device)
    no_sgr = SAM4IRMethod(args.backbone, {}, cfg.sam4ir.model_copy(update={"sgr": cfg.sam4ir.sgr.model_copy(update={"enabled": False})}),
                          loss, cfg.priors.encoding, cfg.priors.num_masks).to(args.device)
    full = SAM4IRMethod(args.backbone, {}, cfg.sam4ir, loss, cfg.priors.encoding, cfg.priors.num_masks)
    if args.relation == "vgg16":
        full.relation_net = build_vgg("vgg16")
    full = full.to(args.device)

    t_base, t_nosgr, t_full = _timed_steps([base, no_sgr, full], batches, args.steps, args.device, args.amp,
                                           not args.no_fused)
    t_plain_load = _load_time(plain_ds, args.batch)
    t_prior_load = _load_time(prior_ds, args.batch)

    print(f"backbone {args.backbone}, batch {args.batch}, crop {args.crop}, relation {args.relation}, "
          f"device {args.device}, amp {args.amp}, threads {torch.get_num_threads()}, "
          f"Adam {'per-tensor loop' if args.no_fused else 'fused'}, "
          f"denormals {'kept' if args.keep_denormals else 'flushed'}")
    print("| part | ms / step | share of framework step |\n|---|---|---|")
    rows = [("IR1 (baseline step: fwd + bwd + Adam)", t_base),
            ("IR2 + SPF + SPD", t_nosgr - t_base),
            (f"relation net ({args.relation}) + SGR", t_full - t_nosgr),
            ("prior loading (masks from cache, per batch)", t_prior_load - t_plain_load)]
    for name, t in rows:
        print(f"| {name} | {1000 * t:.1f} | {100 * t / t_full:.0f}% |")
    print(f"| framework step total | {1000 * t_full:.1f} | 100% |")
    print(f"\nstep-time ratio framework / baseline: {t_full / t_base:.2f} (target <= 2.5)")
    print(f"data loading per batch: {1000 * t_plain_load:.1f} ms plain, {1000 * t_prior_load:.1f} ms with priors "
          "(done by DataLoader workers in parallel with the step when num_workers > 0)")
    if args.json:  # strict JSON, written atomically
        from samdistill.core.json_safe import write_json

        setup = {k: v for k, v in vars(args).items() if k != "json"}
        write_json(args.json, {"setup": {**setup, "threads": torch.get_num_threads()},
                               "ms_per_step": {name: 1000 * t for name, t in rows},
                               "framework_ms": 1000 * t_full, "baseline_ms": 1000 * t_base, "ratio": t_full / t_base,
                               "load_ms_per_batch": {"plain": 1000 * t_plain_load, "priors": 1000 * t_prior_load}})


if __name__ == "__main__":
    main()
