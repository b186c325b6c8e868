"""The street world's figures: render time, class frequencies, color-only baseline, ideal-mask lookup.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/street_world.py [--world DIR] [--scenes 5] [--skip-render] [--json out.json]

- render time of one pinhole image (128x256, the embedded default) and one 400x2048 panorama,
  on one core (set OMP_NUM_THREADS=1), over `--scenes` target/source scenes: mean +- std, min;
  target: a 400x2048 panorama in under 2 s;
- class pixel frequencies of both domains of the world (default: the embedded world, built on
  first use; `--world DIR` for a `samdistill data world --out DIR` build);
- a per-pixel random forest on RGB alone, fit on source pinhole train pixels, scored (mIoU, 19
  classes, classes present) on source val images and on the target val panoramas: below 50 %
  on the target means the world is not solvable by color;
- the ideal segmenter (priors.backend=world) finding the right scene for rainy / noisy / blurred
  versions of the source val images (match rate and the correlation margin).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from samdistill.data.segmentation.labels import CLASS_NAMES
from samdistill.world.build import Job, WorldBuildConfig, render_job


def render_times(scenes: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"pinhole 128x256": [], "panorama 400x2048": []}
    cfg = WorldBuildConfig(pano_size=(400, 2048))
    for i in range(scenes):
        for name, job in (("pinhole 128x256", Job("source", "val", i, "", None)),
                          ("panorama 400x2048", Job("target", "val", i, "", None))):
            t = time.perf_counter()
            render_job(job, cfg)
            times[name].append(time.perf_counter() - t)
    return times


def color_only(world: Path, per_image: int = 3000, seed: int = 0) -> dict[str, float]:
    from sklearn.ensemble import RandomForestClassifier

    from samdistill.data.segmentation.config import SegDatasetConfig
    from samdistill.data.segmentation.dataset import SegmentationDataset
    from samdistill.metrics.segmentation import ConfusionMatrix

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for item in SegmentationDataset(SegDatasetConfig(layout="cityscapes", root=str(world / "pinhole"), split="train")):
        rgb, label = item["image"].numpy().reshape(3, -1).T, item["label"].numpy().ravel()
        pick = rng.choice(len(label), per_image, replace=False)
        xs.append(rgb[pick])
        ys.append(label[pick])
    forest = RandomForestClassifier(n_estimators=50, min_samples_leaf=5, random_state=seed, n_jobs=1)
    forest.fit(np.concatenate(xs), np.concatenate(ys))
    scores = {}
    for name, cfg in (("source val (pinhole)", SegDatasetConfig(layout="cityscapes", root=str(world / "pinhole"), split="val")),
                      ("target val (panoramas)", SegDatasetConfig(layout="densepass", root=str(world / "pano"), split="val"))):
        cm = ConfusionMatrix(19)
        for item in SegmentationDataset(cfg):
            cm.update(forest.predict(item["image"].numpy().reshape(3, -1).T).reshape(item["label"].shape), item["label"].numpy())
        scores[name] = cm.compute().miou
    return scores


def ideal_lookup(world: Path, images: int = 20) -> dict[str, tuple[float, float]]:
    from samdistill.data import degradations
    from samdistill.data.io import read_image
    from samdistill.priors.config import WorldSegmenterConfig
    from samdistill.priors.world import WorldSegmenter
    from samdistill.world.index import thumbnail

    seg = WorldSegmenter(WorldSegmenterConfig(roots=[str(world / "pinhole")]))
    paths = sorted((world / "pinhole" / "leftImg8bit" / "val").rglob("*.png"))[:images]
    out = {}
    rng = np.random.default_rng(0)
    kinds = {"rain": lambda im: degradations.add_rain(im, rng, level="heavy"),
             "noise": lambda im: degradations.add_gaussian_noise(im, 25.0, rng),
             "blur": lambda im: degradations.motion_blur(im, rng, 11)}
    for kind, fn in kinds.items():
        hits, margins, best = 0, [], []
        for path in paths:
            clean = read_image(path)
            pixels = np.clip(np.rint(fn(clean) * 255), 0, 255).astype(np.uint8)
            thumbs, entries = seg._by_shape[pixels.shape[:2]]
            scores = np.sort(thumbs @ thumbnail(pixels))[::-1]
            truth = seg.locate(np.clip(np.rint(clean * 255), 0, 255).astype(np.uint8))
            try:
                hits += seg.locate(pixels) == truth
            except ValueError:
                pass
            best.append(scores[0])
            margins.append(scores[0] - scores[1])
        out[kind] = (hits / len(paths), float(np.min(best)), float(np.min(margins)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path, default=None, help="a built world (default: the embedded one)")
    ap.add_argument("--scenes", type=int, default=5, help="scenes timed per camera")
    ap.add_argument("--skip-render", action="store_true", help="skip the render timing")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    args = ap.parse_args()
    result: dict = {}
    if not args.skip_render:
        for name, times in render_times(args.scenes).items():
            t = np.array(times)
            result.setdefault("render_s", {})[name] = times
            print(f"render {name}: {t.mean():.3f} +- {t.std():.3f} s (min {t.min():.3f}, {len(t)} scenes)")
    if args.world is None:
        from samdistill.world.embedded import ensure_world

        args.world = ensure_world()
    manifest = json.loads((args.world / "manifest.json").read_text())
    print(f"world: {args.world} {manifest['counts']}")
    print("class pixel frequency (%)        source  target")
    for k, name in enumerate(CLASS_NAMES):
        src, tgt = (np.asarray(manifest["class_pixels"][d], float) for d in ("source", "target"))
        print(f"  {k:2d} {name:14s}            {100 * src[k] / src.sum():6.2f}  {100 * tgt[k] / tgt.sum():6.2f}")
    for name, miou in color_only(args.world).items():
        result.setdefault("rgb_only_miou", {})[name] = float(miou)
        print(f"RGB-only random forest mIoU on {name}: {100 * miou:.1f}")
    for kind, (rate, best, margin) in ideal_lookup(args.world).items():
        result.setdefault("ideal_lookup", {})[kind] = {"found": float(rate), "lowest_best_correlation": float(best),
                                                       "lowest_margin": float(margin)}
        print(f"ideal segmenter on {kind}: found {100 * rate:.0f} % (lowest best correlation {best:.3f}, "
              f"lowest margin to the next image {margin:.3f})")
    if args.json:
        result.update(world=str(args.world), counts=manifest["counts"], class_pixels=manifest["class_pixels"])
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
