"""Downstream segmentation on embedded-street-rain: the SAM4IR paper's Table 2, embedded.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/downstream_street.py [--out runs/bench_downstream]
        [--seg-steps 800] [--seg-size mini] [--restore-steps 600] [--segmenter PATH]
        [--baseline RUN --sam4ir RUN] [--resamples 10000] [key=value ...]

1. Segmenter: `--segmenter PATH` (e.g. a GoodSAM source-stage student's model.safetensors, or a
   SegFormer folder), else a SegFormer (`--seg-size`) trained here with cross-entropy on the street
   world's labeled pinhole train renders (embedded-street, 200 images; 128x128 crops, flips; AdamW,
   cosine). The restoration test scenes are the world's val renders: never seen by the segmenter.
2. Restorers: the demo's baseline and SAM4IR runs (tiny NAFNet, same seed, steps and data order;
   `key=value` overrides go to both) trained on embedded-street-rain, or the run folders given with
   --baseline / --sam4ir (their model.safetensors).
3. Each restorer is evaluated on the 20 test pairs with the segmenter (`eval --segmenter`; labels are
   the benchmark's test/labels/), writing <run>/eval/metrics.json (ready for `samdistill compare`).
4. Prints the table rainy | baseline-restored | SAM4IR-restored | clean of mIoU, pixel accuracy and
   mean Dice (percent; one confusion matrix over the test set each), with PSNR/SSIM, and the paired
   bootstrap 95 % CI over images of the SAM4IR - baseline differences. Writes results.json in --out.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

DATASET = "embedded-street-rain"


def fit_on_street(net: torch.nn.Module, steps: int, seed: int, label: str = "segmenter") -> torch.nn.Module:
    """Cross-entropy on the street world's labeled pinhole train renders (embedded-street, 128x128
    crops, flips; AdamW, one-cycle). `net` maps (B,3,H,W) in [0,1] to logits at any size (upsampled)."""
    from torch.utils.data import DataLoader

    from samdistill.data.segmentation.config import SegDatasetConfig
    from samdistill.data.segmentation.dataset import SegmentationDataset

    data = SegmentationDataset(SegDatasetConfig(layout="cityscapes", root="embedded-street", split="train"),
                               crop=128, hflip=True, seed=seed)
    loader = DataLoader(data, batch_size=8, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.05)
    net.train()
    step, t0 = 0, time.perf_counter()
    while step < steps:
        for batch in loader:
            logits = net(batch["image"])
            if logits.shape[-2:] != batch["label"].shape[-2:]:
                logits = torch.nn.functional.interpolate(logits, batch["label"].shape[-2:], mode="bilinear",
                                                         align_corners=False)
            loss = torch.nn.functional.cross_entropy(logits, batch["label"], ignore_index=255)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0 or step == steps:
                print(f"{label} step {step}/{steps}: loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
            if step == steps:
                break
    return net.eval()


def train_segmenter(out: Path, steps: int, size: str, seed: int) -> Path:
    from samdistill.models.artifact import save_model_artifact
    from samdistill.models.registry import create_backbone

    torch.manual_seed(seed)
    net = fit_on_street(create_backbone("segformer", size=size, num_classes=19), steps, seed)
    path = out / "segmenter" / "model.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_model_artifact(net, "segformer", {"size": size, "num_classes": 19}, path)


def train_restorers(out: Path, steps: int, overrides: list[str]) -> dict[str, Path]:
    from samdistill.demos.rain import _train, demo_configs

    common = [f"data.train.name={DATASET}", f"data.val.name={DATASET}", f"train.steps={steps}",
              f"train.val_every={max(1, steps // 3)}", f"train.save_every={steps}"] + overrides
    base, fw = demo_configs(out, "quick", common)
    runs = {}
    for label, cfg in (("baseline", base), ("sam4ir", fw)):
        seconds = _train(cfg)
        print(f"{label}: trained {steps} steps in {seconds:.0f} s", flush=True)
        runs[label] = Path(cfg.output_dir)
    return runs


def evaluate_run(run: Path, segmenter: Path) -> dict:
    from samdistill.data.config import DatasetConfig
    from samdistill.data.paired import PairedImageDataset
    from samdistill.models.artifact import load_model_artifact
    from samdistill.inference.downstream import DownstreamScorer
    from samdistill.inference.evaluate import evaluate_model
    from samdistill.inference.segment import load_segmenter
    from samdistill.metrics.config import EvalConfig

    model = load_model_artifact(run / "model.safetensors")
    test = PairedImageDataset(DatasetConfig(layout="embedded", name=DATASET, split="test"))
    scorer = DownstreamScorer(load_segmenter(segmenter), source=str(segmenter))
    return evaluate_model(model, test, EvalConfig(), save_dir=run / "eval", save_images=True, progress=False,
                          downstream=scorer, meta={"dataset": {"label": f"embedded:{DATASET}/test"}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_downstream"))
    ap.add_argument("--segmenter", type=Path, default=None)
    ap.add_argument("--seg-steps", type=int, default=800)
    ap.add_argument("--seg-size", default="mini", help="SegFormer size trained here: tiny, mini, b0, ...")
    ap.add_argument("--restore-steps", type=int, default=600)
    ap.add_argument("--baseline", type=Path, default=None, help="baseline run folder (skips training it)")
    ap.add_argument("--sam4ir", type=Path, default=None, help="SAM4IR run folder (skips training it)")
    ap.add_argument("--resamples", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("overrides", nargs="*", help="config overrides for both restoration runs")
    args = ap.parse_args()
    if (args.baseline is None) != (args.sam4ir is None):
        ap.error("give both --baseline and --sam4ir, or neither")

    t0 = time.perf_counter()
    segmenter = args.segmenter or train_segmenter(args.out, args.seg_steps, args.seg_size, args.seed)
    runs = ({"baseline": args.baseline, "sam4ir": args.sam4ir} if args.baseline
            else train_restorers(args.out, args.restore_steps, args.overrides + [f"seed={args.seed}"]))
    reports = {label: evaluate_run(run, segmenter) for label, run in runs.items()}

    from samdistill.compare.runs import load_runs
    from samdistill.compare.table import compare_runs

    comparison = compare_runs(load_runs([runs["baseline"] / "eval", runs["sam4ir"] / "eval"], ["baseline", "sam4ir"]),
                              args.resamples, args.seed)
    seg = {"rainy": reports["baseline"]["downstream"]["input"], "baseline-restored": reports["baseline"]["downstream"]["restored"],
           "SAM4IR-restored": reports["sam4ir"]["downstream"]["restored"], "clean": reports["baseline"]["downstream"]["gt"]}
    psnr = {"rainy": reports["baseline"]["mean"]["input_psnr"], "baseline-restored": reports["baseline"]["mean"]["psnr"],
            "SAM4IR-restored": reports["sam4ir"]["mean"]["psnr"], "clean": float("inf")}
    ssim = {"rainy": reports["baseline"]["mean"]["input_ssim"], "baseline-restored": reports["baseline"]["mean"]["ssim"],
            "SAM4IR-restored": reports["sam4ir"]["mean"]["ssim"], "clean": 1.0}
    cols = list(seg)
    print(f"\nembedded-street-rain test ({reports['baseline']['count']} images), segmenter {segmenter}")
    print("| | " + " | ".join(cols) + " |\n|---" * 1 + "|---" * len(cols) + "|")
    for key, title in (("mIoU", "mIoU (%)"), ("pixel_acc", "pixel acc (%)"), ("mean_dice", "Dice (%)")):
        print(f"| {title} | " + " | ".join(f"{100 * seg[c][key]:.2f}" for c in cols) + " |")
    print("| PSNR (dB) | " + " | ".join("inf" if np.isinf(psnr[c]) else f"{psnr[c]:.2f}" for c in cols) + " |")
    print("| SSIM | " + " | ".join(f"{ssim[c]:.4f}" for c in cols) + " |")
    cis = comparison["datasets"][f"embedded:{DATASET}/test"]["deltas"][0]["ci"]
    print(f"\nSAM4IR - baseline, paired bootstrap 95 % CI over images ({args.resamples} resamples):")
    for key, scale, unit in (("psnr", 1, "dB"), ("ssim", 1, ""), ("mIoU", 100, "pt"), ("pixel_acc", 100, "pt"),
                             ("mean_dice", 100, "pt")):
        ci = cis[key]
        print(f"  {key}: {scale * ci['delta']:+.3f} {unit} [{scale * ci['low']:+.3f}, {scale * ci['high']:+.3f}], "
              f"{ci['improved']}/{ci['count']} images improved")
    results = {"segmenter": str(segmenter), "runs": {k: str(v) for k, v in runs.items()},
               "segmentation": seg, "psnr": psnr, "ssim": ssim, "ci": cis, "seconds": time.perf_counter() - t0}
    args.out.mkdir(parents=True, exist_ok=True)
    from samdistill.metrics.psnr_ssim import json_safe

    (args.out / "results.json").write_text(json.dumps(json_safe(results), indent=2))
    print(f"\nwrote {args.out / 'results.json'} ({results['seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
