"""What can masks tell a teacher that IR1's output does not already? Measured without training.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/sam4ir_mask_information.py RESTORER \\
        [--dataset embedded-street-rain] [--segmenter world|offline] [--band 2] [--json PATH]

RESTORER is a trained IR1 (`model.safetensors`, e.g. a baseline run of `benchmarks/results/sam4ir_sweep.py`).
On the dataset's test pairs, with each clean image's masks (the world's exact ones: every object,
stuff region and part; or the offline segmenter's), prints the PSNR against the ground truth of:
  * LQ and I1 = RESTORER(LQ);
  * region_mean(X): each region of constant mask membership painted with X's mean colour, for
    X = GT (the most a piecewise-constant semantic prior can convey), LQ and I1;
and where I1's error lies: the share of pixels within --band px of a mask edge, their share of
I1's squared error, and the PSNR I1 would reach if all error in that band vanished (an upper bound
for a teacher that only learns *where* boundaries are).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def edge_band(stack: torch.Tensor, band: int) -> torch.Tensor:
    """(1, H, W) bool: pixels within `band` px of any mask's edge (dilation minus erosion)."""
    k = 2 * band + 1
    dilated = F.max_pool2d(stack, k, 1, band)
    eroded = -F.max_pool2d(-stack, k, 1, band)
    return (dilated - eroded).amax(1) > 0.5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("restorer", type=Path)
    ap.add_argument("--dataset", default="embedded-street-rain")
    ap.add_argument("--segmenter", choices=["world", "offline"], default="world")
    ap.add_argument("--band", type=int, default=2)
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = ap.parse_args()

    from samdistill.data.config import DatasetConfig
    from samdistill.data.paired import PairedImageDataset
    from samdistill.models.artifact import load_model_artifact
    from samdistill.metrics.psnr_ssim import psnr_torch
    from samdistill.priors.region_maps import region_mean

    if args.segmenter == "world":
        from samdistill.priors.world import WorldSegmenter
        seg = WorldSegmenter()
    else:
        from samdistill.priors.offline import OfflineSegmenter
        seg = OfflineSegmenter()
    data = PairedImageDataset(DatasetConfig(layout="embedded", name=args.dataset, split="test"))
    net = load_model_artifact(args.restorer).eval()
    labels = ["LQ", "I1", "region_mean(GT)", "region_mean(LQ)", "region_mean(I1)"]
    psnrs, counts = [], []
    near_err = far_err = near_px = all_px = 0.0
    for i in range(len(data)):
        item = data[i]
        lq, gt = item["lq"][None], item["gt"][None]
        with torch.inference_mode():
            i1 = net(lq).clamp(0, 1)
        stack = torch.from_numpy(seg(gt[0].permute(1, 2, 0).numpy()).masks.astype(np.float32))[None]
        psnrs.append([psnr_torch(x, gt).item() for x in (lq, i1, region_mean(stack, gt), region_mean(stack, lq),
                                                         region_mean(stack, i1))])
        counts.append(stack.shape[1])
        near = edge_band(stack, args.band)
        err = ((i1 - gt) ** 2).mean(1)
        near_err += err[near].sum().item()
        far_err += err[~near].sum().item()
        near_px += near.sum().item()
        all_px += near.numel()
    mean = np.mean(psnrs, axis=0)
    print(f"{args.dataset} test ({len(data)} pairs), {args.segmenter} masks ({np.mean(counts):.0f} per image), "
          f"restorer {args.restorer}")
    for label, value in zip(labels, mean):
        print(f"  {label:<16} PSNR {value:6.2f} dB")
    total = near_err + far_err
    print(f"  pixels within {args.band} px of a mask edge: {100 * near_px / all_px:.1f} %, holding "
          f"{100 * near_err / total:.1f} % of I1's squared error; I1 without it: "
          f"+{-10 * np.log10(far_err / total):.2f} dB")
    if args.json:  # strict JSON, written atomically
        from samdistill.core.json_safe import write_json

        write_json(args.json, {"dataset": args.dataset, "pairs": len(data), "segmenter": args.segmenter,
                               "masks_per_image": float(np.mean(counts)), "restorer": args.restorer,
                               "psnr": dict(zip(labels, mean.tolist())), "band": args.band,
                               "band_pixel_share": near_px / all_px, "band_error_share": near_err / total,
                               "i1_without_band_error_db": float(-10 * np.log10(far_err / total))})


if __name__ == "__main__":
    main()
