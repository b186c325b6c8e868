"""SAM4IR gain on embedded-rain over several seeds: baseline vs framework at equal steps.

    .venv/bin/python benchmarks/results/sam4ir_gain.py --seeds 0 1 2 --profile full [key=value ...]

Each seed trains the demo's two runs (same seed, steps, data order) and scores the shipped
networks on the held-out test photos. Prints per-seed PSNR/SSIM and the mean ± std of the gain,
and writes results.json under --out. Overrides go to both runs (e.g. sam4ir.prior_source=lq).
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from samdistill.demos.rain import demo_configs, train_and_evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--profile", choices=["quick", "full"], default="full")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_gain"))
    ap.add_argument("overrides", nargs="*", help="config overrides for both runs")
    args = ap.parse_args()

    rows = []
    for seed in args.seeds:
        base, fw = demo_configs(args.out / f"seed{seed}", args.profile, args.overrides + [f"seed={seed}"])
        b = train_and_evaluate("baseline", base)
        f = train_and_evaluate("framework", fw)
        row = {
            "seed": seed,
            "input_psnr": b.metrics["mean"]["input_psnr"],
            "baseline_psnr": b.metrics["mean"]["psnr"],
            "framework_psnr": f.metrics["mean"]["psnr"],
            "baseline_ssim": b.metrics["mean"]["ssim"],
            "framework_ssim": f.metrics["mean"]["ssim"],
            "train_s": [b.seconds_train, f.seconds_train],
        }
        row["gain_db"] = row["framework_psnr"] - row["baseline_psnr"]
        rows.append(row)
        print(f"seed {seed}: input {row['input_psnr']:.3f}  baseline {row['baseline_psnr']:.3f}  "
              f"framework {row['framework_psnr']:.3f}  gain {row['gain_db']:+.3f} dB", flush=True)
    gains = [r["gain_db"] for r in rows]
    spread = statistics.stdev(gains) if len(gains) > 1 else 0.0
    summary = {"profile": args.profile, "overrides": args.overrides, "rows": rows,
               "gain_mean_db": statistics.mean(gains), "gain_std_db": spread}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"gain over {len(gains)} seeds: {summary['gain_mean_db']:+.3f} ± {spread:.3f} dB (mean ± std)")


if __name__ == "__main__":
    main()
