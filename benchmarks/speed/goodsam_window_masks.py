"""Cutting a panorama's cached masks to GoodSAM's windows: every mask decoded vs only the kept ones.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speed/goodsam_window_masks.py [--panoramas 8]
        [--segmenter world|offline] [--json PATH]

For the first --panoramas training panoramas of `configs/goodsam/embedded/adapt.yaml` (the street world,
192-px windows, the 48 largest masks per window), times the two ways `goodsam.data.PanoramaWindows`
can cut the whole panorama's masks (both read the disk cache, filled first): `dense` decodes every mask
and chooses from per-column areas (`_cut_whole`); `runs` takes the areas from the run lengths and
decodes only the masks some window keeps (`_cut_runs`, what training uses). The outputs must be equal.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "goodsam" / "embedded" / "adapt.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--panoramas", type=int, default=8)
    ap.add_argument("--segmenter", choices=["world", "offline"], default="world")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = ap.parse_args()

    from samdistill.config.loader import load_config
    from samdistill.data.io import read_image
    from samdistill.goodsam.build import build_datasets, build_prior_provider
    from samdistill.goodsam.windows import WindowGrid

    cfg = load_config(CONFIG, ["goodsam.student.init=null", "goodsam.ta.init=null", f"priors.backend={args.segmenter}"])
    provider = build_prior_provider(cfg)
    target = build_datasets(cfg, provider)[0]
    target = getattr(target, "target", target)  # the panoramas, not the source images beside them
    times = {"dense": [], "runs": []}
    masks_per_panorama = []
    for sample in target.samples[: args.panoramas]:
        image = read_image(sample.image)
        grid = WindowGrid.for_size(target.windows, *image.shape[:2])
        masks_per_panorama.append(len(provider.masks_for(image)))  # fills the cache; both timings read it
        t = time.perf_counter()
        dense = target._cut_whole(provider.masks_for(image), grid)
        times["dense"].append(time.perf_counter() - t)
        t = time.perf_counter()
        runs = target._cut_runs(provider.runs_for(image), grid)
        times["runs"].append(time.perf_counter() - t)
        for a, b in zip(dense, runs):
            np.testing.assert_array_equal(a, b, err_msg=f"{sample.image}: the two cuts differ")
    mean = {k: float(np.mean(v)) for k, v in times.items()}
    print(f"{len(masks_per_panorama)} panoramas {image.shape[1]}x{image.shape[0]}, {args.segmenter} masks "
          f"({np.mean(masks_per_panorama):.0f} per panorama), {len(grid)} windows, identical outputs")
    print(f"  every mask decoded: {mean['dense']:.3f} s per panorama; kept masks only: {mean['runs']:.3f} s "
          f"({mean['dense'] / mean['runs']:.1f}x)")
    if args.json:
        from samdistill.core.json_safe import write_json

        write_json(args.json, {"segmenter": args.segmenter, "panoramas": len(masks_per_panorama),
                               "masks_per_panorama": masks_per_panorama, "seconds": times, "mean_seconds": mean})


if __name__ == "__main__":
    main()
