"""Which SAM4IR settings help? One baseline, then one framework run per variant, for each seed.

    .venv/bin/python benchmarks/sam4ir_sweep.py --steps 500 --variant "sam4ir.sgr.enabled=false" \\
        --variant "spd255: sam4ir.spd.pixel_scale=255" [--seeds 0 1 2] [--out runs/sweep]
    # the SAM4IR paper's Table 5 rows (+cascade, +SPF, +SPD, +SGR), on the street world with its exact masks:
    .venv/bin/python benchmarks/sam4ir_sweep.py --table5 --dataset embedded-street-rain --steps 400 \\
        --seeds 0 1 2 --set priors.backend=world

Every run shares the demo's settings (tiny NAFNet, 64-px crops, batch 8; `--dataset` replaces
embedded-rain), seed, steps and data order; each --variant is a space-separated list of overrides
applied to the framework run, optionally named ("name: overrides"); `--set key=value` goes to
every run. `--table5` adds Table 5's rows first: cascade (IR2 without priors, no
distillation), spf (+ priors fused into IR2), spd (+ self-distillation), sgr (+ relation loss; the
full framework). Prints a Markdown table of the shipped network's test PSNR/SSIM, IR2's last
validation PSNR on the same test images, and the gain over the baseline of the same seed; with
several seeds, also each variant's mean ± std (sample) of the gain and of IR2's PSNR. Writes every
row to --out/results.json.
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


TABLE5 = [  # (row, overrides of the framework run): the paper's Table 5, one component more per row
    ("cascade", "sam4ir.spf.enabled=false sam4ir.spd.enabled=false sam4ir.sgr.enabled=false"),
    ("spf", "sam4ir.spd.enabled=false sam4ir.sgr.enabled=false"),
    ("spd", "sam4ir.sgr.enabled=false"),
    ("sgr", ""),
]


def parse_variant(text: str) -> tuple[str, str]:
    """"name: k=v k=v" or "k=v k=v" (named by its overrides)."""
    head, sep, rest = text.partition(":")
    if sep and "=" not in head:
        return head.strip(), rest.strip()
    return (text or "demo defaults"), text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds N)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--variant", action="append", default=[],
                    help='overrides for one framework run, optionally named: "name: k=v k=v"')
    ap.add_argument("--table5", action="store_true", help="run Table 5's rows (cascade, spf, spd, sgr) first")
    ap.add_argument("--dataset", default="embedded-rain", help="embedded benchmark for training and test")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override for every run, baseline too (repeatable)")
    args = ap.parse_args()
    seeds = args.seeds or [0 if args.seed is None else args.seed]
    variants = (TABLE5 if args.table5 else []) + [parse_variant(v) for v in args.variant]
    variants = variants or [("demo defaults", "")]
    rows = []  # (seed, name, psnr, ssim, ir2, gain)
    for seed in seeds:
        common = [f"train.steps={args.steps}", f"train.val_every={args.steps}", f"train.save_every={args.steps}",
                  f"seed={seed}", "train.progress=false", f"data.train.name={args.dataset}",
                  f"data.val.name={args.dataset}"] + args.overrides
        out = args.out if len(seeds) == 1 else args.out / f"seed{seed}"
        base_cfg, _ = demo_configs(out / "baseline", "quick", common)
        base = train_and_evaluate("baseline", base_cfg)
        b = base.metrics["mean"]["psnr"]
        rows.append((seed, "baseline", b, base.metrics["mean"]["ssim"], None, 0.0))
        print(f"seed {seed} baseline: {b:.3f} dB", flush=True)
        for i, (name, variant) in enumerate(variants):
            _, fw_cfg = demo_configs(out / f"v{i}", "quick", common + variant.split())
            fw = train_and_evaluate(name, fw_cfg)
            hist = json.loads((Path(fw_cfg.output_dir) / "val_history.json").read_text())
            ir2 = hist[-1].get("ir2_psnr") if hist else None
            p = fw.metrics["mean"]["psnr"]
            rows.append((seed, name, p, fw.metrics["mean"]["ssim"], ir2, p - b))
            print(f"seed {seed} {rows[-1][1]}: {p:.3f} dB (gain {p - b:+.3f})", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    keys = ("seed", "run", "psnr", "ssim", "ir2_psnr", "gain")
    (args.out / "results.json").write_text(json.dumps({"dataset": args.dataset, "steps": args.steps,
                                                       "overrides": args.overrides, "variants": variants,
                                                       "rows": [dict(zip(keys, r)) for r in rows]}, indent=1))
    print(f"\n{args.dataset}, {args.steps} steps, seeds {' '.join(map(str, seeds))} {' '.join(args.overrides)}\n\n"
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
