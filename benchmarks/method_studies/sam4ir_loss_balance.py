"""How hard does SGR pull on IR1 next to L1? Gradient norms on I1, without training.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/sam4ir_loss_balance.py RESTORER \\
        [--dataset embedded-street-rain] [--features random_conv street_conv=PATH vgg16=PATH] \\
        [--weight 200] [--crops 8] [--json PATH]

RESTORER is a trained IR1 (`model.safetensors`). For --crops 64x64 crops of the dataset's test pairs
(masks: the street world's exact ones, the 16 largest inside the crop, as `priors.select: crop`),
with I1 = RESTORER(LQ) and a teacher output I2 halfway between I1 and the ground truth, prints for
each feature extractor the median and max over crops of |d(λ2·L_SGR)/dI1| / |d L1(I1, GT)/dI1|
(images in [0,1], as the trainer computes L1). λ2 = 200 is the paper's weight for VGG16 features;
the ratio says what that weight means for other features, and how far from L1's pull it is.
Relations are cosines, so SGR's gradient does not change with the intensity scale while L1's does:
read against an L1 on [0,255] intensities, λ2 = 200 pulls 255x less than against ours.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

CROP = 64


def crop_masks(stack: torch.Tensor, n: int = 16) -> torch.Tensor:
    """The n largest masks inside the crop, skipping empty and whole-crop ones."""
    area = stack.flatten(2).sum(-1)[0]
    keep = (area > 0) & (area < stack.shape[-1] * stack.shape[-2])
    kept = stack[:, keep]
    return kept[:, area[keep].argsort(descending=True)[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("restorer", type=Path)
    ap.add_argument("--dataset", default="embedded-street-rain")
    ap.add_argument("--features", nargs="+", default=["random_conv"], help="NAME or NAME=WEIGHTS")
    ap.add_argument("--weight", type=float, default=200.0, help="λ2")
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = ap.parse_args()

    from samdistill.data.config import DatasetConfig
    from samdistill.data.paired import PairedImageDataset
    from samdistill.models.artifact import load_model_artifact
    from samdistill.priors.world import WorldSegmenter
    from samdistill.sam4ir.sgr import sgr_loss
    from samdistill.sam4ir.vgg import build_relation_features

    data = PairedImageDataset(DatasetConfig(layout="embedded", name=args.dataset, split="test"))
    segmenter = WorldSegmenter()
    net = load_model_artifact(args.restorer).eval()
    gen = torch.Generator().manual_seed(0)
    crops = []
    for i in range(args.crops):
        item = data[i % len(data)]
        lq, gt = item["lq"][None], item["gt"][None]
        y = int(torch.randint(0, gt.shape[-2] - CROP + 1, (1,), generator=gen))
        x = int(torch.randint(0, gt.shape[-1] - CROP + 1, (1,), generator=gen))
        stack = torch.from_numpy(segmenter(gt[0].permute(1, 2, 0).numpy()).masks.astype(np.float32))[None]
        with torch.no_grad():
            i1 = net(lq).clamp(0, 1)
        window = (..., slice(y, y + CROP), slice(x, x + CROP))
        crops.append((i1[window], gt[window], crop_masks(stack[window])))
    result = {"dataset": args.dataset, "crops": len(crops), "crop_size": CROP, "weight": args.weight,
              "restorer": args.restorer, "features": {}}  # per extractor: the ratio of each crop
    print(f"{args.dataset}: {len(crops)} crops of {CROP}x{CROP}, λ2 = {args.weight:g}, restorer {args.restorer}")
    for spec in args.features:
        name, _, weights = spec.partition("=")
        feats = build_relation_features(name, weights or None)
        ratios = []
        result["features"][name] = ratios
        for i1, gt, masks in crops:
            i2 = 0.5 * (i1 + gt)  # a teacher closer to the ground truth than I1
            i1 = i1.clone().requires_grad_(True)
            g_l1, = torch.autograd.grad((i1 - gt).abs().mean(), i1)
            g_sgr, = torch.autograd.grad(args.weight * sgr_loss(feats(i1), feats(i2), masks), i1)
            ratios.append((g_sgr.norm() / g_l1.norm()).item())
        print(f"  {name:<12} |∇ λ2·SGR| / |∇ L1|: median {np.median(ratios):.3g}, max {max(ratios):.3g}")
    if args.json:  # strict JSON, written atomically
        from samdistill.core.json_safe import write_json

        write_json(args.json, result)


if __name__ == "__main__":
    main()
