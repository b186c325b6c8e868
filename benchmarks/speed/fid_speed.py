"""FID feature extraction speed: images per second through the FID Inception on CPU.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/speed/fid_speed.py [--size 256] [--images 24] [--batch-size 8]
        [--threads 2] [--resize pytorch-fid|clean-fid] [--json out.json]

What is timed: `InceptionFeatures.features` on `--images` random float32 (size x size x 3) images in
[0, 1], batches of `--batch-size`: the resize to 299x299 (bilinear in torch, or clean-fid's PIL
bicubic per channel), the Inception forward pass (float32, inference mode) and the copy of the
2048-d features to float64 numpy. Not timed: reading files, the Fréchet distance (a 2048x2048
matrix square root, seconds to tens of seconds on a CPU, once per FID). One untimed warm-up batch.
Random weights (the real architecture and key layout): the timing does not depend on them.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch


def run(size: int, images: int, batch_size: int, threads: int, resize: str) -> dict:
    from samdistill.metrics.fid import InceptionFeatures
    from samdistill.metrics.fid_inception import FIDInceptionV3

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    extractor = InceptionFeatures(FIDInceptionV3(), device="cpu", batch_size=batch_size, resize=resize)
    rng = np.random.default_rng(0)
    batch = [rng.random((size, size, 3), dtype=np.float32) for _ in range(images)]
    extractor.features(batch[:batch_size])  # warm-up
    start = time.perf_counter()
    feats = extractor.features(batch)
    seconds = time.perf_counter() - start
    assert feats.shape == (images, 2048)
    return {"size": size, "images": images, "batch_size": batch_size, "threads": threads, "resize": resize,
            "seconds": seconds, "images_per_s": images / seconds, "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="input images are size x size")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resize", default="pytorch-fid", choices=["pytorch-fid", "clean-fid"])
    parser.add_argument("--json", default=None, help="also write the result to this file")
    args = parser.parse_args()
    row = run(args.size, args.images, args.batch_size, args.threads, args.resize)
    print(f"FID features, {row['size']}x{row['size']} inputs, {row['resize']} resize, batch {row['batch_size']}, "
          f"{row['threads']} thread(s): {row['images_per_s']:.2f} images/s ({row['images']} images in "
          f"{row['seconds']:.1f} s; torch {row['torch']})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(row, f, indent=2)


if __name__ == "__main__":
    main()
