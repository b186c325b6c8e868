"""How much does the automatic mask generator add on top of SAM itself?

Builds the real ViT-B SAM architecture with random weights (nothing is downloaded), then times
on one image:
  1. one image-embedding pass (the ViT encoder),
  2. the decoder passes the point grid needs (ceil(points_per_side^2 / points_per_batch)),
  3. the whole AMG call,
and prints AMG / (embedding + decoder passes); the target is <= 1.15, i.e. preprocessing,
upscaling, filtering, NMS and output encoding cost under 15%. With random weights almost no
mask passes SAM's default filters, so `keep-all` (all thresholds 0: every mask is upscaled,
boxed and NMS'd) and `all-scored` (every mask also stability-scored) are measured too. The
AMG's own encode/decode split of the same call is printed as well (robust to other load on
the machine).

    python benchmarks/speed/amg_speed.py                       # ViT-B, 1024, 32x32 points, CPU
    python benchmarks/speed/amg_speed.py --points-per-side 8 --height 480 --width 640
    python benchmarks/speed/amg_speed.py --device cuda --dtype bfloat16
    python benchmarks/speed/amg_speed.py --json runs/amg_speed.json   # also the rows as JSON
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from samdistill.priors.config import AMGConfig
from samdistill.priors.sam.amg import MaskGenerator
from samdistill.priors.sam.nms import build_point_grid
from samdistill.priors.sam.predictor import SamPredictor
from samdistill.priors.sam.segmenter import DTYPES


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points-per-side", type=int, default=32, help="AMG point grid size per side")
    ap.add_argument("--points-per-batch", type=int, default=64, help="prompts decoded per decoder pass")
    ap.add_argument("--json", metavar="PATH", help="also write one row per mode as JSON to PATH")
    ap.add_argument("--height", type=int, default=768, help="test image height (pixels)")
    ap.add_argument("--width", type=int, default=1024, help="test image width (pixels)")
    ap.add_argument("--model-image-size", type=int, default=1024,
                    help="SAM input size (1024 is the real model; smaller is faster, for quick checks)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="autocast dtype (GPU)")
    ap.add_argument("--mode", default="all", choices=["default", "keep-all", "all-scored", "all"],
                    help="default: SAM's thresholds; keep-all: thresholds 0 (every mask upscaled, boxed "
                    "and NMS'd; stability scored for survivors only); all-scored: a tiny stability "
                    "threshold so every mask is also stability-scored before NMS (worst case); all: each")
    ap.add_argument("--keep-all", action="store_true", help="shorthand for --mode keep-all")
    ap.add_argument("--repeats", type=int, default=1, help="repeat each timing, keep the fastest (noisy machines)")
    ap.add_argument("--seed", type=int, default=0, help="random weights / image seed")
    return ap.parse_args()


def build_vit_b(image_size: int, device: str) -> torch.nn.Module:
    from transformers import SamConfig, SamModel

    # transformers initializes SAM's ViT with std 1e-10, whose denormal activations make CPU
    # matmuls crawl; trained weights have ordinary magnitudes, so initialize like a ViT (0.02)
    cfg = SamConfig(vision_config={"image_size": image_size, "initializer_range": 0.02},
                    prompt_encoder_config={"image_size": image_size})
    return SamModel(cfg).eval().requires_grad_(False).to(device)


def test_image(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth blobs plus noise: some structure for the masks to follow."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    img = np.zeros((height, width, 3), np.float32)
    for _ in range(8):
        cy, cx, r = rng.random(), rng.random(), 0.05 + 0.2 * rng.random()
        img += (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)[..., None] * rng.random(3).astype(np.float32)
    return np.clip(img / 2 + 0.1 * rng.random(img.shape, dtype=np.float32), 0, 1)


def timed(fn, device: torch.device, *args):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn(*args)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def model_passes(predictor: SamPredictor, image: np.ndarray, args: argparse.Namespace) -> tuple[float, float]:
    """Seconds for one embedding pass and for the decoder passes of the point grid."""
    image_t = predictor.to_tensor(image)
    state, t_embed = timed(predictor.encode, predictor.device, image_t)
    grid = torch.as_tensor(build_point_grid(args.points_per_side), dtype=torch.float32)
    points = grid * torch.tensor([args.width, args.height], dtype=torch.float32)
    t_decode = 0.0
    for batch in points.split(args.points_per_batch):
        _, dt = timed(predictor.decode_points, predictor.device, state, batch)
        t_decode += dt
    return t_embed, t_decode


MODES = {
    "default": {},
    "keep-all": dict(pred_iou_thresh=0.0, stability_score_thresh=0.0),
    "all-scored": dict(pred_iou_thresh=0.0, stability_score_thresh=1e-9),
}


def run_mode(predictor: SamPredictor, image: np.ndarray, args: argparse.Namespace, name: str) -> dict:
    cfg = AMGConfig(points_per_side=args.points_per_side, points_per_batch=args.points_per_batch, **MODES[name])
    gen = MaskGenerator(predictor, cfg, sync_timing=True)
    t_embed = t_decode = t_amg = float("inf")
    for _ in range(args.repeats):
        embed, decode = model_passes(predictor, image, args)
        t_embed, t_decode = min(t_embed, embed), min(t_decode, decode)
        masks, amg = timed(gen, predictor.device, image)
        if amg < t_amg:
            t_amg, inner = amg, dict(gen.timings)
    n_batches = math.ceil(args.points_per_side ** 2 / args.points_per_batch)
    print(f"[{name}] embedding {t_embed:.2f}s + {n_batches} decoder passes {t_decode:.2f}s; "
          f"AMG {t_amg:.2f}s -> {len(masks)} masks")
    print(f"[{name}] ratio AMG / (embedding + decoder) = {t_amg / (t_embed + t_decode):.3f}  (target <= 1.15)")
    overhead = inner["total"] / (inner["encode"] + inner["decode"])
    print(f"[{name}] same call, AMG total / its own encode+decode = {overhead:.3f} "
          f"(encode {inner['encode']:.2f}s, decode {inner['decode']:.2f}s, total {inner['total']:.2f}s)")
    return {"mode": name, "embedding_s": t_embed, "decoder_passes": n_batches, "decoder_s": t_decode, "amg_s": t_amg,
            "masks": len(masks), "ratio_amg_to_passes": t_amg / (t_embed + t_decode), "own_overhead": overhead,
            "inner_s": inner}


def main() -> None:
    args = parse_args()
    mode = "keep-all" if args.keep_all else args.mode
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = build_vit_b(args.model_image_size, args.device)
    predictor = SamPredictor(model, DTYPES[args.dtype])
    image = test_image(args.height, args.width, args.seed)
    print(f"ViT-B SAM (random weights), input {args.model_image_size}, image {args.height}x{args.width}, "
          f"{args.points_per_side}^2 points, device {device}, dtype {args.dtype}, "
          f"torch threads {torch.get_num_threads()}")
    if device.type == "cuda":  # warm-up (kernel selection, allocator) before timing
        predictor.decode_points(predictor.encode(predictor.to_tensor(image[:64, :64])), torch.zeros(1, 2))
    rows = [run_mode(predictor, image, args, name) for name in (list(MODES) if mode == "all" else [mode])]
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        setup = {k: getattr(args, k) for k in ("model_image_size", "height", "width", "points_per_side",
                                                "points_per_batch", "device", "dtype", "repeats", "seed")}
        Path(args.json).write_text(json.dumps({"setup": {**setup, "threads": torch.get_num_threads()}, "rows": rows},
                                              indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
