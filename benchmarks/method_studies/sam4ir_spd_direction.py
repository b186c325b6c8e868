"""What SPD hands IR1 from a trained teacher (issue 21, item 3).

    .venv/bin/python benchmarks/method_studies/sam4ir_spd_direction.py RUN_DIR [RUN_DIR ...] [--out FILE.json]

For each finished SAM4IR framework run (its config.yaml and last checkpoint; IR2 and SPF need the
checkpoint, the shipped model.safetensors holds IR1 only), on the run's validation split (full
images; with the oracle prior, the validation oracle), for each SPD gate (`teacher_closer`, `none`)
at the run's scale and beta:
- `distilled`: share of I1's elements whose SPD gradient is not zero (the gate's pass rate);
- `opposed`: share of the distilled elements where SPD's gradient points against the L1
  reconstruction's (I2 on the other side of I1 than GT): what only the teacher can tell IR1;
- `opposed_norm`: that part's share of the SPD gradient's squared norm.
Also IR1's and IR2's PSNR on the same images. Prints a Markdown table; --out writes the JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

GATES = ("teacher_closer", "none")


def load_framework(run_dir: Path):
    """The run's SAM4IRMethod with the weights of its last checkpoint, in eval mode, and its config."""
    from samdistill.config.loader import load_config
    from samdistill.core.safetensors_io import read_safetensors
    from samdistill.engine.checkpoint import load_method_state
    from samdistill.sam4ir.method import build_sam4ir_method

    cfg = load_config(run_dir / "config.yaml")
    ckpts = sorted((run_dir / "checkpoints").glob("step_*"))
    if not ckpts:
        raise SystemExit(f"{run_dir}: no checkpoints/step_* (IR2's weights are only in a checkpoint)")
    method = build_sam4ir_method(cfg)
    if method.needs_masks():
        raise SystemExit(f"{run_dir}: this analysis runs without masks (spf_prior: oracle, SGR off)")
    state, _ = read_safetensors(ckpts[-1] / "method.safetensors")
    load_method_state(method, state, ckpts[-1], method.frozen_prefixes())
    return method.eval(), cfg


def direction_shares(i1: torch.Tensor, i2: torch.Tensor, gt: torch.Tensor, beta: float, scale: float,
                     gate: str) -> tuple[float, float, float]:
    """(distilled, opposed, opposed_norm) of SPD's gradient on I1 against L1(I1, GT)'s (module doc)."""
    from samdistill.sam4ir.spd import spd_loss

    a = i1.detach().clone().requires_grad_(True)
    (g_spd,) = torch.autograd.grad(spd_loss(a, i2.detach(), beta, scale, gate, gt), a)
    (g_l1,) = torch.autograd.grad(F.l1_loss(a, gt), a)
    active = g_spd != 0
    opposed = (g_spd * g_l1) < 0
    n_active = int(active.sum())
    energy = float((g_spd ** 2).sum())
    return (n_active / active.numel(), float(opposed.sum()) / max(n_active, 1),
            float((g_spd[opposed] ** 2).sum()) / energy if energy > 0 else 0.0)


def analyse(run_dir: Path) -> dict:
    from samdistill.data.paired import PairedImageDataset
    from samdistill.metrics.psnr_ssim import psnr_torch

    method, cfg = load_framework(run_dir)
    data = PairedImageDataset(cfg.data.val)
    c = cfg.sam4ir.spd
    sums = {g: [0.0, 0.0, 0.0] for g in GATES}
    psnr1 = psnr2 = 0.0
    for k in range(len(data)):
        item = data[k]
        lq, gt = item["lq"].unsqueeze(0), item["gt"].unsqueeze(0)
        with torch.no_grad():
            i1 = method.ir1(lq)  # as validation feeds it to the teacher; scored clamped
            i2 = method.teacher(i1, lq, None, clean=gt).clamp(0, 1)
            i1 = i1.clamp(0, 1)
        psnr1 += float(psnr_torch(i1, gt).mean())
        psnr2 += float(psnr_torch(i2, gt).mean())
        for g in GATES:
            for j, v in enumerate(direction_shares(i1, i2, gt, c.beta, c.pixel_scale, g)):
                sums[g][j] += v
    n = len(data)
    out = {"run": str(run_dir), "images": n, "ir1_psnr": psnr1 / n, "ir2_psnr": psnr2 / n}
    for g in GATES:
        out[g] = dict(zip(("distilled", "opposed", "opposed_norm"), (v / n for v in sums[g])))
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+", help="framework run folders (config.yaml + checkpoints/)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    results = [analyse(r) for r in args.runs]
    print("| run | IR1 PSNR | IR2 PSNR | gate | distilled | opposed (of distilled) | opposed, share of ‖∇‖² |\n"
          "|---|---|---|---|---|---|---|")
    for r in results:
        for g in GATES:
            s = r[g]
            print(f"| {r['run']} | {r['ir1_psnr']:.3f} | {r['ir2_psnr']:.3f} | {g} | {s['distilled']:.3f} | "
                  f"{s['opposed']:.3f} | {s['opposed_norm']:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
