"""Which SAM4IR settings help on embedded-rain? One baseline, then one framework run per variant,
for each seed.

    .venv/bin/python benchmarks/sam4ir_sweep.py --steps 500 --variant "sam4ir.sgr.enabled=false" \\
        --variant "sam4ir.spd.pixel_scale=255" [--seeds 0 1 2] [--out runs/sweep]

Every run shares the demo's settings, seed, steps and data order; each --variant is a
space-separated list of overrides applied to the framework run. Prints a Markdown table of the
shipped network's test PSNR/SSIM (and IR2's last validation PSNR) and the gain over the baseline
of the same seed; with several seeds, also each variant's mean ± std (sample) of the gain and of
IR2's PSNR.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from samdistill.report.demo import demo_configs, train_and_evaluate


def _mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):+.3f} ± {std:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds N)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--variant", action="append", default=[], help="overrides for one framework run")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep"))
    args = ap.parse_args()
    seeds = args.seeds or [0 if args.seed is None else args.seed]
    variants = args.variant or [""]
    rows = []  # (seed, name, psnr, ssim, ir2, gain)
    for seed in seeds:
        common = [f"train.steps={args.steps}", f"train.val_every={args.steps}", f"train.save_every={args.steps}",
                  f"seed={seed}", "train.progress=false"]
        out = args.out if len(seeds) == 1 else args.out / f"seed{seed}"
        base_cfg, _ = demo_configs(out / "baseline", "quick", common)
        base = train_and_evaluate("baseline", base_cfg)
        b = base.metrics["mean"]["psnr"]
        rows.append((seed, "baseline", b, base.metrics["mean"]["ssim"], None, 0.0))
        print(f"seed {seed} baseline: {b:.3f} dB", flush=True)
        for i, variant in enumerate(variants):
            _, fw_cfg = demo_configs(out / f"v{i}", "quick", common + variant.split())
            fw = train_and_evaluate(variant or "framework (demo defaults)", fw_cfg)
            hist = json.loads((Path(fw_cfg.output_dir) / "val_history.json").read_text())
            ir2 = hist[-1].get("ir2_psnr") if hist else None
            p = fw.metrics["mean"]["psnr"]
            rows.append((seed, variant or "demo defaults", p, fw.metrics["mean"]["ssim"], ir2, p - b))
            print(f"seed {seed} {rows[-1][1]}: {p:.3f} dB (gain {p - b:+.3f})", flush=True)
    print(f"\n{args.steps} steps, seeds {' '.join(map(str, seeds))}\n\n"
          "| seed | run | PSNR | SSIM | gain (dB) | IR2 PSNR (val) |\n|---|---|---|---|---|---|")
    for seed, name, psnr, ssim, ir2, gain in rows:
        ir2_txt = f"{ir2:.3f}" if ir2 is not None else "–"
        print(f"| {seed} | {name} | {psnr:.3f} | {ssim:.4f} | {gain:+.3f} | {ir2_txt} |")
    if len(seeds) > 1:
        print("\n| run | gain, mean ± std | IR2 − baseline IR1, mean ± std |\n|---|---|---|")
        base_by_seed = {s: p for s, n, p, *_ in rows if n == "baseline"}
        for name in dict.fromkeys(r[1] for r in rows if r[1] != "baseline"):
            mine = [r for r in rows if r[1] == name]
            ir2 = [r[4] - base_by_seed[r[0]] for r in mine if r[4] is not None]
            print(f"| {name} | {_mean_std([r[5] for r in mine])} | {_mean_std(ir2) if ir2 else '–'} |")


if __name__ == "__main__":
    main()
