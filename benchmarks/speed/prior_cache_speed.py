"""Cost of reading cached priors vs recomputing them, vs one training step of the demo network.

    .venv/bin/python benchmarks/speed/prior_cache_speed.py [--size 256] [--num-masks 16] [--repeats 20] [--json out.json]

For a 256x256 photo: (a) the offline segmenter (Felzenszwalb) from scratch, (b) reading the
image's cache entry from disk and encoding it to N channels (a cold read: no in-memory LRU),
(c) one training step of the demo network (nafnet_tiny, batch 8, 64x64 crops: fwd + bwd + Adam).
Targets: (b) < 5 % of (c), and (a) / (b) >= 100.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from samdistill.data.io import read_image
from samdistill.data.embedded import ensure_embedded
from samdistill.engine.config import OptimizerConfig
from samdistill.engine.optim import build_optimizer
from samdistill.methods.plain import PlainRestoration
from samdistill.priors.cache import MaskCache, image_hash
from samdistill.priors.config import PriorsConfig
from samdistill.priors.encodings import to_channels
from samdistill.priors.offline import OfflineSegmenter


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--num-masks", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = ap.parse_args()

    root = ensure_embedded("embedded-rain")
    image = read_image(next((root / "test" / "target").glob("*.png")))[: args.size, : args.size]
    cfg = PriorsConfig()
    seg = OfflineSegmenter(cfg.offline)
    fp, key = seg.fingerprint(), image_hash(image)
    with tempfile.TemporaryDirectory() as tmp:
        cache = MaskCache(tmp)
        maskset = seg(image)
        cache.put(key, fp, maskset)
        t_segment = _median(lambda: seg(image), max(3, args.repeats // 4))
        t_read = _median(lambda: to_channels(cache.get(key, fp, top=args.num_masks), args.num_masks), args.repeats)

    torch.manual_seed(0)
    method = PlainRestoration("nafnet_tiny")
    opt = build_optimizer(method, OptimizerConfig(lr=1e-4))  # what the trainer builds
    batch = {"lq": torch.rand(8, 3, 64, 64), "gt": torch.rand(8, 3, 64, 64)}

    def step():
        method(batch).loss.backward()
        opt.step()
        opt.zero_grad()

    step()
    t_step = _median(step, args.repeats)
    print(f"{args.size}x{args.size} photo, {len(maskset)} offline masks, N = {args.num_masks}, threads {torch.get_num_threads()}")
    print(f"| offline segmenter (recompute) | {1000 * t_segment:.2f} ms |")
    print(f"| cached masks -> {args.num_masks} channels (disk read, decode, encode) | {1000 * t_read:.2f} ms |")
    print(f"| one demo training step (nafnet_tiny, batch 8, 64x64) | {1000 * t_step:.2f} ms |")
    print(f"read / step = {100 * t_read / t_step:.2f} % (target < 5 %); recompute / read = {t_segment / t_read:.0f}x (target >= 100x)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "size": args.size, "masks": len(maskset), "num_masks": args.num_masks, "threads": torch.get_num_threads(),
            "segment_ms": 1000 * t_segment, "cached_read_ms": 1000 * t_read, "train_step_ms": 1000 * t_step,
            "read_over_step": t_read / t_step, "recompute_over_read": t_segment / t_read}, indent=2) + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    main()
