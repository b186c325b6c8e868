"""Per-panorama latency of GoodSAM's student and teacher assistants on CPU.

    .venv/bin/python benchmarks/speed/goodsam_latency.py [--height 400] [--width 2048]
        [--models b0 mini b5] [--threads 1 2] [--runs 5] [--warmup 1] [--json out.json]

One whole-image forward pass of a 2048x400 panorama (the DensePASS size, the Trans4PASS protocol)
through `SegmentationNet` (ImageNet normalization, SegFormer, bilinear upsampling of the logits to
the input size), batch 1, `torch.inference_mode`, float32, `torch.set_num_threads(T)`. Random
weights: the timing does not depend on them. Reported per model and thread count: the median over
`--runs` timed passes after `--warmup` untimed ones, the fastest pass (on shared cores other jobs
inflate the median), and the ratios to the student, the first model (b0 by default): "this /
student" and "student / this" (on a TA row: the student's latency as a fraction of the TA's).
"mini" is the embedded TA, b5 the paper-like TA.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch


def count_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def median_latency(net: torch.nn.Module, x: torch.Tensor, runs: int, warmup: int) -> tuple[float, list[float]]:
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            t = time.perf_counter()
            net(x)
            if i >= warmup:
                times.append(time.perf_counter() - t)
    return statistics.median(times), times


def run(models: list[str], threads: list[int], height: int, width: int, runs: int, warmup: int,
        num_classes: int = 19) -> list[dict]:
    from samdistill.models.segformer import SegmentationNet

    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    rows, before = [], torch.get_num_threads()
    try:
        for name in models:
            torch.manual_seed(0)
            net = SegmentationNet.build(name, num_classes).eval()
            for t in threads:
                torch.set_num_threads(t)
                median, times = median_latency(net, x, runs, warmup)
                rows.append({"model": name, "params": count_params(net), "threads": t, "median_s": median,
                             "min_s": min(times), "runs_s": times})
            del net
    finally:
        torch.set_num_threads(before)
    student = models[0]
    for row in rows:
        base = next(r for r in rows if r["model"] == student and r["threads"] == row["threads"])
        row["vs_student"] = row["median_s"] / base["median_s"]
        row["student_over_model"] = base["median_s"] / row["median_s"]
    return rows


def table(rows: list[dict], height: int, width: int, runs: int) -> str:
    lines = [f"Whole-image latency of one {width}x{height} panorama, CPU, batch 1, float32, median of {runs} runs",
             "", "| model | parameters | threads | median latency (s) | min (s) | this / student | student / this |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params']:,} | {r['threads']} | {r['median_s']:.3f} | "
                     f"{r['min_s']:.3f} | {r['vs_student']:.2f} | {r['student_over_model']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--height", type=int, default=400)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--models", nargs="+", default=["b0", "mini", "b5"],
                    help="SegFormer sizes; the first is the student the others are compared with")
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--classes", type=int, default=19)
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args()
    rows = run(args.models, args.threads, args.height, args.width, args.runs, args.warmup, args.classes)
    print(table(rows, args.height, args.width, args.runs))
    print(f"\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_interop_threads()} inter-op threads")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"height": args.height, "width": args.width, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
