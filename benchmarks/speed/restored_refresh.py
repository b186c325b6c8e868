"""What restored priors cost (issue 10, defect 7): one refresh per image, its share of training,
and the per-item cost the old worker path paid.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speed/restored_refresh.py [--steps 10] [--batch 8]
        [--set priors.backend=world ...] [--out runs/refresh_bench]

The demo's experiment (`demos/rain_sam4ir.yaml`: nafnet_tiny on embedded-rain, offline segmenter unless --set says
otherwise). Prints: per image, read / IR1 / segment / store ms of a refresh made in-process
(`restored_refresh: processes`, one process); the training step time (framework, SGR on, masks
read from the refresh's store); the refresh's share of training time at refresh_every 100 (the
demo) and 500 (the default); and a dataset item fetch with the stored masks vs with the old
`workers` path (IR1 on CPU over the full image per item, masks from the cache). The figures
also go to `<out>/results.json`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import torch

from samdistill.build import build_experiment
from samdistill.config.loader import load_config
from samdistill.engine.config import OptimizerConfig
from samdistill.engine.optim import build_optimizer
from samdistill.priors.segmenter import describe_fingerprint
from samdistill.demos.rain import SAM4IR_CONFIG
from samdistill.sam4ir.priors import write_ir1_snapshot
from samdistill.sam4ir.refresh import PriorRefresher, refresh_priors


class _Trainer:
    def __init__(self, cfg):
        self.cfg, self.accelerator = cfg, None


def _step_ms(method, loader, steps: int) -> float:
    opt = build_optimizer(method, OptimizerConfig(lr=1e-4))
    times, it = [], iter(loader)
    for i in range(steps + 2):
        batch = next(it)
        t = time.perf_counter()
        method(batch).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def _fetch_ms(ds, n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    return 1000 * (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8, help="sam4ir.refresh_batch_size")
    ap.add_argument("--items", type=int, default=16, help="dataset items timed per path")
    ap.add_argument("--set", nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=Path("runs/refresh_bench"))
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    overrides = [f"output_dir={args.out}", "data.num_workers=0", f"sam4ir.refresh_batch_size={args.batch}", *args.set]
    cfg = load_config(SAM4IR_CONFIG, overrides)
    method, train_loader, _ = build_experiment(cfg)
    datasets = method.prior_datasets
    n_pairs = sum(len(ds.pairs) for ds in datasets)
    refresh_priors(method, _Trainer(cfg), 0, restored=False)  # LQ masks (warm-up), builds the segmenter
    write_ir1_snapshot(method.ir1, cfg.output_dir, 1)
    t = time.perf_counter()
    stats = refresh_priors(method, _Trainer(cfg), 1, restored=True)
    refresh_s = time.perf_counter() - t
    ms = stats.per_image_ms()
    step_ms = _step_ms(method, train_loader, args.steps)
    ds = train_loader.dataset
    new_fetch = _fetch_ms(ds, args.items)
    old = cfg.model_copy(update={"sam4ir": cfg.sam4ir.model_copy(update={"restored_refresh": "workers"})})
    from samdistill.sam4ir.priors import build_prior_provider

    ds.prior_provider = build_prior_provider(old)
    for i in range(min(args.items, len(ds.pairs))):  # fill the old path's mask cache first
        ds[i]
    old_fetch = _fetch_ms(ds, args.items)
    print(f"\n{n_pairs} pairs (train + val), {stats.images} made, refresh batch {args.batch}, "
          f"{describe_fingerprint(method._refresher._fingerprint)}\n")
    print("| refresh, per image | read | IR1 | segment | store | total |\n|---|---|---|---|---|---|")
    print(f"| ms | {ms['read']:.1f} | {ms['restore']:.1f} | {ms['segment']:.1f} | {ms['store']:.1f} | "
          f"{1000 * refresh_s / max(stats.images, 1):.1f} |")
    print(f"\ntraining step (framework, batch {cfg.data.batch_size}, crop {cfg.data.crop_size}): {step_ms:.0f} ms")
    for k in (100, 500):
        share = refresh_s / (refresh_s + k * step_ms / 1000)
        print(f"refresh every {k} steps: {refresh_s:.1f} s per refresh, {100 * share:.1f} % of training time")
    print(f"dataset item fetch: stored masks {new_fetch:.1f} ms, old worker path (IR1 on CPU per item) "
          f"{old_fetch:.1f} ms")
    result = {"pairs": n_pairs, "images": stats.images, "refresh_batch": args.batch, "refresh_per_image_ms": ms,
              "refresh_s": refresh_s, "train_step_ms": step_ms, "fetch_stored_ms": new_fetch,
              "fetch_worker_path_ms": old_fetch, "overrides": overrides}
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
