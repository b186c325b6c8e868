"""Which SAM4IR settings help on embedded-rain? One baseline, then one framework run per variant.

    .venv/bin/python benchmarks/sam4ir_sweep.py --steps 500 --variant "sam4ir.sgr.enabled=false" \\
        --variant "sam4ir.spd.pixel_scale=255" [--seed 0] [--out runs/sweep]

Every run shares the demo's settings, seed, steps and data order; each --variant is a
space-separated list of overrides applied to the framework run. Prints a Markdown table of the
shipped network's test PSNR/SSIM (and IR2's last validation PSNR) and the gain over the baseline.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from samdistill.report.demo import demo_configs, train_and_evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", action="append", default=[], help="overrides for one framework run")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep"))
    args = ap.parse_args()
    common = [f"train.steps={args.steps}", f"train.val_every={args.steps}", f"train.save_every={args.steps}",
              f"seed={args.seed}", "train.progress=false"]
    base_cfg, _ = demo_configs(args.out / "baseline", "quick", common)
    base = train_and_evaluate("baseline", base_cfg)
    rows = [("baseline", base.metrics["mean"]["psnr"], base.metrics["mean"]["ssim"], None)]
    print(f"baseline: {rows[0][1]:.3f} dB", flush=True)
    for i, variant in enumerate(args.variant or [""]):
        _, fw_cfg = demo_configs(args.out / f"v{i}", "quick", common + variant.split())
        fw = train_and_evaluate(variant or "framework (demo defaults)", fw_cfg)
        hist = json.loads((Path(fw_cfg.output_dir) / "val_history.json").read_text())
        ir2 = hist[-1].get("ir2_psnr") if hist else None
        rows.append((variant or "demo defaults", fw.metrics["mean"]["psnr"], fw.metrics["mean"]["ssim"], ir2))
        print(f"{rows[-1][0]}: {rows[-1][1]:.3f} dB (gain {rows[-1][1] - rows[0][1]:+.3f})", flush=True)
    print(f"\n{args.steps} steps, seed {args.seed}\n\n| run | PSNR | SSIM | gain (dB) | IR2 PSNR (val) |\n|---|---|---|---|---|")
    for name, psnr, ssim, ir2 in rows:
        ir2_txt = f"{ir2:.3f}" if ir2 is not None else "–"
        print(f"| {name} | {psnr:.3f} | {ssim:.4f} | {psnr - rows[0][1]:+.3f} | {ir2_txt} |")


if __name__ == "__main__":
    main()
