"""Does the teacher use the masks? IR2 with the street world's exact masks vs IR2 without (issue 21, item 4).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/sam4ir_mask_use.py \\
        --datasets embedded-street-noise embedded-street-blur embedded-street-rain --seeds 0 1 2 \\
        --steps 3000 --eval-every 500 --out runs/mask_use [--backbone nafnet_tiny] [--set key=value ...]

IR2 alone, as benchmarks/method_studies/sam4ir_information.py trains it: I1 := LQ (no IR1), no SPD, no SGR, the
demo's settings (64-px crops, batch 8, Adam 1e-3, cosine over --steps). Two IR2s start from the
same weights (the SPF units start as the identity) and take the same batches in lockstep: one
with SPF fed the world's exact masks of the LQ image (`priors.backend=world`, ranked inside each
crop), one plain. Every --eval-every steps (and at step 0) each scores the held-out test split
(full images; masks per tile of the crop size, as training ranks them: `priors.val_select`):
the plain IR2, and the prior IR2 probed with its image's masks (`right`), with the next test
image's masks (`other`) and with all-zero masks (`zero`). right − other and right − zero say how
much of IR2's output depends on the masks being this image's; right − plain whether the masks
made a better teacher.

Prints a table per dataset and eval step (mean ± std over seeds) and writes every number to
--out/results.json (rewritten after each evaluation, so a cut-short run keeps what it measured).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from accelerate.utils import set_seed

from samdistill.build import build_loaders
from samdistill.engine.optim import apply_lr, build_optimizer
from samdistill.metrics.psnr_ssim import psnr_torch
from samdistill.demos.rain import demo_configs
from samdistill.sam4ir.method import SAM4IRMethod
from samdistill.sam4ir.priors import build_prior_provider

PROBES = ("right", "other", "zero")


def ir2_only(cfg, with_prior: bool) -> SAM4IRMethod:
    """IR2 (+ SPF) restoring LQ, nothing distilled; the same initial IR2 weights either way."""
    s4 = cfg.sam4ir.model_copy(update={"spd": cfg.sam4ir.spd.model_copy(update={"enabled": False}),
                                       "sgr": cfg.sam4ir.sgr.model_copy(update={"enabled": False}),
                                       "spf": cfg.sam4ir.spf.model_copy(update={"enabled": with_prior}),
                                       "ir2_input": "lq"})
    set_seed(cfg.seed)  # IR1 then IR2 are drawn in the same order; SPF's units come after IR2
    return SAM4IRMethod(cfg.model.name, cfg.model.args, s4, cfg.train.loss, cfg.priors.encoding,
                        cfg.priors.num_masks, cfg.seed)


def probe_masks(masks: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
    """Per probe, the masks each test image is restored with: its own, the next image's (the
    last takes the first's), none. Test images of one benchmark share a size."""
    other = masks[1:] + masks[:1]
    return {"right": masks, "other": other, "zero": [torch.zeros_like(m) for m in masks]}


def evaluate(prior: SAM4IRMethod, plain: SAM4IRMethod, test: list[dict], cfg) -> dict[str, float]:
    """Mean test PSNR of the plain IR2 and of the prior IR2 under each probe."""
    score = lambda out, gt: float(psnr_torch(out.clamp(0, 1), gt, cfg.eval.crop_border, cfg.eval.y_channel).mean())  # noqa: E731
    prior.eval(), plain.eval()
    result = {}
    with torch.no_grad():
        result["plain"] = statistics.mean(score(plain.ir2(b["lq"]), b["gt"]) for b in test)
        for name, masks in probe_masks([b["masks"] for b in test]).items():
            result[name] = statistics.mean(score(prior.teacher(b["lq"], b["lq"], m), b["gt"]) for b, m in zip(test, masks))
    prior.train(), plain.train()
    return result


def run(cfg, steps: int, eval_every: int, on_eval=lambda evals: None) -> dict:
    """Train both IR2s for `steps` on the same batches; evaluations at 0, eval_every, ..., steps."""
    provider = build_prior_provider(cfg)  # the world's masks of the LQ image (prior_source lq)
    train, val = build_loaders(cfg, prior_provider=provider)  # both sets carry the masks
    test = list(val)
    nets = {"prior": ir2_only(cfg, True), "plain": ir2_only(cfg, False)}
    opts = {k: build_optimizer([p for p in m.parameters() if p.requires_grad], cfg.train.optimizer)
            for k, m in nets.items()}
    evals = [{"step": 0, **evaluate(nets["prior"], nets["plain"], test, cfg)}]
    on_eval(evals)
    t0, step, epoch = time.perf_counter(), 0, 0
    while step < steps:
        train.dataset.set_epoch(epoch)
        for batch in train:
            for key, method in nets.items():
                apply_lr(opts[key], step, cfg.train.schedule, steps)
                _, loss = method.teacher(batch["lq"], batch["lq"], batch["masks"], batch["gt"])
                loss.backward()
                opts[key].step()
                opts[key].zero_grad(set_to_none=True)
            step += 1
            if step % eval_every == 0 or step == steps:
                evals.append({"step": step, "seconds": time.perf_counter() - t0,
                              **evaluate(nets["prior"], nets["plain"], test, cfg)})
                on_eval(evals)
            if step >= steps:
                break
        epoch += 1
    return {"evals": evals, "seconds": time.perf_counter() - t0, "test_images": len(test)}


def _mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):+.3f} ± {std:.3f}"


def table(results: list[dict]) -> str:
    """Markdown: per dataset and eval step, plain PSNR and the three differences, per seed and mean ± std."""
    lines = ["| dataset | step | seeds | plain IR2 (dB) | right − plain | right − other | right − zero |",
             "|---|---|---|---|---|---|---|"]
    for ds in dict.fromkeys(r["dataset"] for r in results):
        runs = [r for r in results if r["dataset"] == ds]
        for i, ev in enumerate(runs[0]["evals"]):
            at = [r["evals"][i] for r in runs if len(r["evals"]) > i]
            diff = lambda a, b: [e[a] - e[b] for e in at]  # noqa: E731
            cells = [", ".join(f"{d:+.3f}" for d in diff("right", k)) + f" ({_mean_std(diff('right', k))})"
                     for k in ("plain", "other", "zero")]
            plain = statistics.mean(e["plain"] for e in at)
            lines.append(f"| {ds} | {ev['step']} | {' '.join(str(r['seed']) for r in runs[:len(at)])} | "
                         f"{plain:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["embedded-street-noise", "embedded-street-blur",
                                                      "embedded-street-rain"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--backbone", default="nafnet_tiny")
    ap.add_argument("--out", type=Path, default=Path("runs/mask_use"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every run (e.g. priors.encoding=boundary)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []

    def save(extra=None):
        rows = results + ([extra] if extra else [])
        meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        (args.out / "results.json").write_text(json.dumps({"args": meta, "probes": list(PROBES), "runs": rows},
                                                          indent=1))

    torch.set_flush_denormal(True)  # as the trainer does (train.flush_denormal): SPF's zero start makes denormals
    try:
        _grid(args, results, save)
    finally:
        torch.set_flush_denormal(False)
    print(table(results))
    return results


def _grid(args, results: list[dict], save) -> None:
    for seed in args.seeds:  # seed-major: every dataset's seed 0 first, in case the run is cut short
        for ds in args.datasets:
            _, cfg = demo_configs(args.out / ds / f"seed{seed}", "quick", [
                f"data.train.name={ds}", f"data.val.name={ds}", f"seed={seed}", f"model.name={args.backbone}",
                f"train.steps={args.steps}", "priors.backend=world", "sam4ir.prior_source=lq", *args.overrides])
            row = {"dataset": ds, "seed": seed, "steps": args.steps}
            out = run(cfg, args.steps, args.eval_every, lambda evals: save({**row, "evals": evals, "partial": True}))
            results.append({**row, **out})
            save()
            last = out["evals"][-1]
            print(f"{ds} seed {seed}: {out['seconds']:.0f} s; at {last['step']} steps plain {last['plain']:.3f}, "
                  + ", ".join(f"{k} {last[k]:.3f}" for k in PROBES), flush=True)


if __name__ == "__main__":
    main()
