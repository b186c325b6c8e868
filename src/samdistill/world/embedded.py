"""The street world in the embedded cache, and the street restoration benchmarks built from it.

- `embedded-street` (pinhole, Cityscapes layout) and `embedded-pano` (panoramas, DensePASS
  layout) are `<cache>/street-world/v1/{pinhole,pano}`, one build with `WorldBuildConfig()`'s
  defaults, made on first use like `embedded-rain`.
- `embedded-street-rain` / `-noise` / `-blur`: the first `STREET_TRAIN` / `STREET_TEST` pinhole
  train / val renders (the same scenes as embedded-street's) with the embedded benchmarks' seeded
  degradations, in their paired layout (`{train,test}/{input,target}/*.png`), plus the world's
  masks of each image (`{split}/world/`) and a `world_index.npz`, so `priors.backend: world`
  gives the ideal masks of every target, input or restoration; and the scene's Cityscapes train ids
  (`{split}/labels/{stem}_labelTrainIds.png`) for downstream segmentation scores (`eval --segmenter`).
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from samdistill.core.cache_dir import build_atomically, default_cache_dir

from samdistill.world.build import (VERSION, WorldBuildConfig, build_world, consecutive_ids, dev_jobs, jobs,
                                   render_job)

WORLD_NAMES = {"embedded-street": "pinhole", "embedded-pano": "pano", "embedded-pano-dev": "pano"}
PANO_DEV = 40  # labeled dev panoramas (`embedded-pano-dev`): settings are chosen on them, never on the test 40
STREET_TRAIN, STREET_TEST = 120, 20


def world_dir(cache_dir: Optional[str | Path] = None) -> Path:
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return cache / "street-world" / f"v{VERSION}"


def ensure_world(cache_dir: Optional[str | Path] = None, progress: bool = True) -> Path:
    """`<cache>/street-world/v1`, rendered first unless a complete copy (manifest.json) exists."""
    final = world_dir(cache_dir)
    if (final / "manifest.json").is_file():
        return final
    return build_atomically(final, lambda tmp: build_world(tmp, WorldBuildConfig(), progress=progress))


def ensure_dev_world(cache_dir: Optional[str | Path] = None, progress: bool = True) -> Path:
    """`<cache>/street-world-dev/v1`: the labeled dev panoramas (own scene seeds), rendered on first use."""
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    final = cache / "street-world-dev" / f"v{VERSION}"
    if (final / "manifest.json").is_file():
        return final
    return build_atomically(final, lambda tmp: build_world(tmp, WorldBuildConfig(), progress=progress,
                                                           todo=dev_jobs(PANO_DEV)))


def resolve_world_name(name: str, cache_dir: Optional[str | Path] = None) -> Path:
    """`embedded-street` / `embedded-pano` / `embedded-pano-dev` -> their folder in the cache (built on first use)."""
    world = ensure_dev_world(cache_dir) if name == "embedded-pano-dev" else ensure_world(cache_dir)
    return world / WORLD_NAMES[name]


def build_street_benchmark(out: Path, degrade: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> dict:
    """Write an embedded-street-* benchmark (`degrade`: its degradation) into the empty folder `out`;
    returns the pair counts per split."""
    from samdistill.world.index import write_index

    cfg = WorldBuildConfig(pinhole_train=STREET_TRAIN, pinhole_val=STREET_TEST, pano_train=0, pano_val=0)
    counts = {"train": 0, "test": 0}
    rows = []
    for job in jobs(cfg):
        split = "train" if job.split == "train" else "test"
        r = render_job(job, cfg)
        stem = f"street_{job.index:04d}"
        clean = np.clip(np.rint(r.rgb * 255), 0, 255).astype(np.uint8)
        rng = np.random.default_rng([2024, zlib.crc32(f"{split}/{stem}".encode())])
        noisy = degrade(clean.astype(np.float32) / 255.0, rng)
        _png(out / split / "target" / f"{stem}.png", clean)
        noisy = np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8)
        _png(out / split / "input" / f"{stem}.png", noisy)
        _png(out / split / "labels" / f"{stem}_labelTrainIds.png", r.label)  # downstream segmentation scores
        seg, part = f"{split}/world/{stem}_segmentIds.png", f"{split}/world/{stem}_partIds.png"
        _png(out / seg, consecutive_ids(r.segments, keep_zero=False))
        _png(out / part, consecutive_ids(r.parts, keep_zero=True))
        rows.append((f"{split}/target/{stem}.png", seg, part, clean))
        rows.append((f"{split}/input/{stem}.png", seg, part, noisy))  # degraded inputs match exactly too
        counts[split] += 1
    write_index(out, rows)
    return counts


def _png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG", compress_level=6)


def manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
