"""Per-image cost of each mask generator's real-size architecture, and AMG wall time / its own model passes.

Builds the released architecture of each backend with RANDOM weights (nothing is downloaded; the
figures are timings only: with random weights almost no mask passes the default filters, so the
post-processing is the light case) and runs the project's own segmenting code on one image:
- SAM ViT-B / L / H, SAM-HQ ViT-B: our automatic mask generator at segment-anything's defaults
  (1024 input, 32x32 points, 64 per batch);
- SAM 2.1 Hiera tiny / small / base+ / large: the same generator at SAM 2's published preset
  (`priors.sam2.amg_preset: sam2`: 32x32 points, pred_iou_thresh 0.8, multimask output);
- SAM 3: `Sam3Segmenter` on one image with the default 19 Cityscapes concept prompts (one vision
  pass, one detector + mask-decoder pass per class; the text features are computed once per run,
  outside the timing, from random token ids).
For each: encoder seconds, decoder-pass seconds (all batches / all classes), wall seconds of the
whole call, and ratio = wall / (encoder + decoder), all from the SAME call (the generator's own
timers; SAM 3's model calls wrapped by timers), so other load on the machine affects both sides
alike (target <= 1.15). `--repeats N` repeats the call (mean +- std over the repeats). For the big
models on a CPU, `--points-per-side 8` (one decoder batch) / `--classes 2` measure a smaller call
and extrapolate the default one: encoder + (wall - encoder) x default passes / measured passes.

    OMP_NUM_THREADS=1 python benchmarks/speed/mask_generator_cost.py --model sam_vit_b --threads 1
    OMP_NUM_THREADS=1 python benchmarks/speed/mask_generator_cost.py --model sam_vit_h --threads 1 --points-per-side 8
    OMP_NUM_THREADS=1 python benchmarks/speed/mask_generator_cost.py --model sam3 --threads 1 --classes 2
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from amg_speed import MODES, test_image, timed  # this folder

SAM_MODELS = ("sam_vit_b", "sam_vit_l", "sam_vit_h", "sam_hq_vit_b")
SAM2_MODELS = ("sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+", "sam2.1_hiera_l")
MODELS = SAM_MODELS + SAM2_MODELS + ("sam3",)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="sam_vit_b", choices=MODELS + ("all",))
    ap.add_argument("--height", type=int, default=768, help="test image height (pixels)")
    ap.add_argument("--width", type=int, default=1024, help="test image width (pixels)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--repeats", type=int, default=1, help="calls per model (mean +- std when > 1)")
    ap.add_argument("--json", default=None, help="append one JSON line per model to this file")
    ap.add_argument("--points-per-side", type=int, default=None,
                    help="measure with fewer points (SAM / SAM 2; 8 = one decoder batch) and extrapolate the default "
                    "grid's cost: encoder + (wall - encoder) x default batches / measured batches")
    ap.add_argument("--mode", default="default", choices=sorted(MODES),
                    help="SAM / SAM 2 filters: default = the preset's; keep-all / all-scored = amg_speed.py's worst "
                    "cases (thresholds 0: every mask upscaled, boxed and NMS'd)")
    ap.add_argument("--classes", type=int, default=None,
                    help="SAM 3: measure with the first N of the 19 classes and extrapolate to all 19 the same way")
    return ap.parse_args()


def random_weights(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights of ordinary magnitude (std 0.02) for every matrix / kernel: transformers' SAM init (std
    1e-10) gives denormal activations that make CPU matmuls crawl, which trained weights never do."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return model.eval().requires_grad_(False)


def build_sam(name: str) -> torch.nn.Module:
    import transformers

    from samdistill.priors.sam.official_config import OFFICIAL_VARIANTS

    hidden, depth, global_attn = OFFICIAL_VARIANTS[name.replace("sam_hq_", "").replace("sam_", "")]
    vision = dict(hidden_size=hidden, num_hidden_layers=depth, global_attn_indexes=list(global_attn),
                  num_attention_heads=12 if hidden == 768 else 16, mlp_dim=4 * hidden)
    if name.startswith("sam_hq"):
        return transformers.SamHQModel(transformers.SamHQConfig(vision_config=vision,
                                                                mask_decoder_config={"vit_dim": hidden}))
    return transformers.SamModel(transformers.SamConfig(vision_config=vision))


def build_sam2(name: str) -> torch.nn.Module:
    import transformers

    from samdistill.priors.sam2.official import RELEASED_HIERA

    variant = name.replace("sam2.1_", "")
    (width, stages), (_, heads, windows, global_blocks) = next(
        (k, v) for k, v in RELEASED_HIERA.items() if v[0] == variant)
    bkg = [14, 14] if variant == "hiera_b+" else [7, 7]
    backbone = dict(model_type="sam2_hiera_det_model", hidden_size=width, num_attention_heads=heads,
                    blocks_per_stage=list(stages), embed_dim_per_stage=[width * 2 ** s for s in range(4)],
                    num_attention_heads_per_stage=[heads * 2 ** s for s in range(4)],
                    window_size_per_stage=list(windows), global_attention_blocks=list(global_blocks),
                    window_positional_embedding_background_size=bkg)
    cfg = transformers.Sam2Config(vision_config=dict(backbone_config=backbone,
                                                     backbone_channel_list=[width * 2 ** s for s in (3, 2, 1, 0)]))
    return transformers.Sam2Model(cfg)


def run_sam_family(name: str, image, repeats: int, points_per_side: int | None = None, mode: str = "default") -> dict:
    from samdistill.priors.config import AMGConfig, SAM2Config
    from samdistill.priors.sam.amg import MaskGenerator
    from samdistill.priors.sam.predictor import SamPredictor
    from samdistill.priors.sam2.predictor import Sam2Predictor

    if name in SAM_MODELS:
        model, amg = random_weights(build_sam(name)), AMGConfig()
        predictor = SamPredictor(model)
    else:
        model, sam2_cfg = random_weights(build_sam2(name)), SAM2Config()
        amg = sam2_cfg.amg
        predictor = Sam2Predictor(model, multimask_output=sam2_cfg.multimask_output)
    full_passes = -(-amg.points_per_side ** 2 // amg.points_per_batch)
    if points_per_side:
        amg = amg.model_copy(update={"points_per_side": points_per_side})
    amg = amg.model_copy(update=MODES[mode])
    gen = MaskGenerator(predictor, amg, sync_timing=True)
    rows = []
    for _ in range(repeats):
        masks, wall = timed(gen, predictor.device, image)
        rows.append(dict(encoder=gen.timings["encode"], decoder=gen.timings["decode"], wall=wall, masks=len(masks)))
    return dict(amg={k: getattr(amg, k) for k in ("points_per_side", "points_per_batch", "pred_iou_thresh",
                                                  "stability_score_thresh", "box_nms_thresh")},
                decoder_passes=-(-amg.points_per_side ** 2 // amg.points_per_batch), full_passes=full_passes, rows=rows)


def run_sam3(image, repeats: int, classes: int | None = None) -> dict:
    import transformers

    from samdistill.priors.config import SAM3Config
    from samdistill.priors.sam3.loading import TEXT_LENGTH, Sam3Info
    from samdistill.priors.sam3.segmenter import Sam3Segmenter

    model = random_weights(transformers.Sam3Model(transformers.Sam3Config()))
    cfg = SAM3Config(checkpoint="(random weights)", device="cpu")
    full_passes = len(cfg.classes)
    if classes:
        cfg = cfg.model_copy(update={"classes": list(cfg.classes)[:classes]})
    seg = Sam3Segmenter(cfg)
    size = model.config.vision_config.backbone_config.image_size
    seg._info = Sam3Info(seg.path, "sam3", int(size[0] if isinstance(size, (list, tuple)) else size))
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.text_config.vocab_size
    with torch.inference_mode():  # once per run in Sam3Segmenter._load: not per image
        ids = torch.randint(0, vocab, (len(cfg.classes), TEXT_LENGTH), generator=gen)
        attention = torch.zeros_like(ids)
        attention[:, :4] = 1
        seg._text = [(model.get_text_features(input_ids=ids[i:i + 1], attention_mask=attention[i:i + 1]),
                      attention[i:i + 1]) for i in range(len(ids))]
    spent = {"encoder": 0.0, "decoder": 0.0}

    def timer(fn, key):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
        return wrapped

    vision, forward = model.get_vision_features, model.forward
    model.get_vision_features = timer(vision, "encoder")
    model.forward = timer(forward, "decoder")
    seg._model = model
    rows = []
    for _ in range(repeats):
        spent.update(encoder=0.0, decoder=0.0)
        masks, wall = timed(seg, torch.device("cpu"), image)
        rows.append(dict(spent, wall=wall, masks=len(masks)))
    return dict(classes=list(cfg.classes), decoder_passes=len(cfg.classes), full_passes=full_passes, rows=rows)


def summarize(name: str, result: dict, args: argparse.Namespace) -> dict:
    rows = result.pop("rows")

    def stat(values):
        return (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None)

    out = dict(model=name, threads=torch.get_num_threads(), image=[args.height, args.width], repeats=len(rows),
               **result)
    for key in ("encoder", "decoder", "wall"):
        out[key + "_s"] = stat([r[key] for r in rows])
    out["ratio"] = stat([r["wall"] / (r["encoder"] + r["decoder"]) for r in rows])
    out["masks"] = rows[-1]["masks"]
    scale = out["full_passes"] / out["decoder_passes"]
    if scale != 1:  # everything but the encoder grows with the number of decoder passes
        enc, dec, wall = out["encoder_s"][0], out["decoder_s"][0], out["wall_s"][0]
        out["estimated_full"] = dict(decoder_s=dec * scale, wall_s=enc + (wall - enc) * scale,
                                     ratio=(enc + (wall - enc) * scale) / (enc + dec * scale))
    fmt = lambda m: f"{m[0]:.2f}" + (f" +- {m[1]:.2f}" if m[1] is not None else "")  # noqa: E731
    per_pass = out["decoder_s"][0] / out["decoder_passes"]
    print(f"{name}: encoder {fmt(out['encoder_s'])} s, {out['decoder_passes']} decoder passes "
          f"{fmt(out['decoder_s'])} s ({per_pass * 1000:.0f} ms each), wall {fmt(out['wall_s'])} s, "
          f"ratio wall/(encoder+decoder) {out['ratio'][0]:.3f} (target <= 1.15), {out['masks']} masks, "
          f"{out['threads']} thread(s), {out['repeats']} call(s)", flush=True)
    if "estimated_full" in out:
        est = out["estimated_full"]
        print(f"{name}: extrapolated to the default {out['full_passes']} decoder passes: decoder {est['decoder_s']:.2f} s, "
              f"wall {est['wall_s']:.2f} s, ratio {est['ratio']:.3f}", flush=True)
    return out


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    image = test_image(args.height, args.width, 0)
    for name in (MODELS if args.model == "all" else (args.model,)):
        result = (run_sam3(image, args.repeats, args.classes) if name == "sam3"
                  else run_sam_family(name, image, args.repeats, args.points_per_side, args.mode))
        out = summarize(name, result, args)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
