"""PSNR + SSIM speed: seconds to score N image pairs (default 100 of 512x512), as `samdistill eval` does.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/speed/psnr_ssim_speed.py [--images 100] [--size 512]
        [--repeats 3] [--threads 2] [--reference] [--json out.json]

What is timed: `metrics.pair_scores.PairScorer.score_many` (RGB, no crop border) on float32 HxWx3
images in [0, 1] already in memory: quantization to 8 bits, PSNR and SSIM of every pair. Not timed:
reading or restoring images. `--reference` also times the float64 one-image-at-a-time `psnr` + `ssim`
of `metrics.psnr_ssim` (the reference implementation) and reports the largest SSIM difference.
Each variant: one untimed warm-up pair, then `--repeats` timed runs; mean and spread (max - min) of
the wall-clock time, and the process CPU time (all threads), which does not grow when other
processes share the cores (the load average is printed beside).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch


def _pairs(count: int, size: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([yy, xx, (yy + xx) / 2], axis=-1)  # smooth content, like photos more than noise is
    gts, preds = [], []
    for _ in range(count):
        gt = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1).astype(np.float32)
        gts.append(gt)
        preds.append(np.clip(gt + rng.normal(0, 0.03, gt.shape), 0, 1).astype(np.float32))
    return preds, gts


def _time(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds (all threads) of each repeat."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _summary(times: tuple[list[float], list[float]]) -> dict:
    wall, cpu = times
    # CPU seconds do not grow when other processes share the cores: wall / threads is the idle-machine bound
    return {"runs_s": wall, "mean_s": statistics.fmean(wall), "spread_s": max(wall) - min(wall),
            "cpu_s": cpu, "mean_cpu_s": statistics.fmean(cpu), "load_avg_1min": os.getloadavg()[0]}


def run(images: int, size: int, repeats: int, threads: int, reference: bool) -> dict:
    from samdistill.metrics.pair_scores import PairScorer
    from samdistill.metrics.psnr_ssim import psnr, ssim

    torch.set_num_threads(threads)
    preds, gts = _pairs(images, size)
    scorer = PairScorer()
    scorer.score_many(preds[:1], gts[:1])  # warm-up
    row = {"images": images, "size": size, "threads": threads, "repeats": repeats,
           "cpu": platform.processor() or platform.machine(), "fast": _summary(_time(lambda: scorer.score_many(preds, gts), repeats))}
    if reference:
        fast_ssim = scorer.score_many(preds, gts)[1]
        ref_ssim: list[float] = []

        def reference_pass() -> None:
            ref_ssim.clear()
            for p, g in zip(preds, gts):
                psnr(p, g)
                ref_ssim.append(ssim(p, g))

        row["reference"] = _summary(_time(reference_pass, repeats))
        row["max_ssim_difference"] = float(np.max(np.abs(fast_ssim - np.array(ref_ssim))))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference", action="store_true", help="also time the float64 reference functions")
    parser.add_argument("--json", default=None, help="also write the result to this file")
    args = parser.parse_args()
    row = run(args.images, args.size, args.repeats, args.threads, args.reference)
    for key in ("fast", "reference"):
        if key in row:
            r = row[key]
            print(f"{key}: PSNR+SSIM of {row['images']} pairs of {row['size']}x{row['size']}: {r['mean_s']:.2f} s "
                  f"± {r['spread_s'] / 2:.2f} (mean of {row['repeats']}, spread {r['spread_s']:.2f} s; "
                  f"{row['threads']} thread(s)); CPU time {r['mean_cpu_s']:.2f} s; load average {r['load_avg_1min']:.1f}")
    if "max_ssim_difference" in row:
        print(f"largest SSIM difference fast vs reference: {row['max_ssim_difference']:.1e}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(row, f, indent=2)


if __name__ == "__main__":
    main()
