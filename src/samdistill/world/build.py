"""Write the street world to disk in the real dataset layouts, once, byte-identical per seed.

```
OUT/pinhole/   (source domain, Cityscapes layout)
  leftImg8bit/{train,val}/{city}/{city}_{i:06d}_000019_leftImg8bit.png
  gtFine/{train,val}/{city}/..._gtFine_labelTrainIds.png   uint8 train ids (sky included, no 255)
                            ..._gtFine_labelIds.png        uint8 Cityscapes label ids
                            ..._gtFine_instanceIds.png     uint16, label id * 1000 + k for
                                                           persons/riders/vehicles, label id otherwise
OUT/pano/      (target domain, DensePASS layout)
  leftImg8bit/train/{City}/{k}.png        unlabeled, as DensePASS' WildPASS train panoramas
  leftImg8bit/val/{n}_.png                labeled test panoramas
  gtFine/val/{n}_labelTrainIds.png
both:
  depth/<same tree>/<stem>_depth.png       uint16 millimetres (0 = sky, 65535 = 65.5 m or more);
                                           pinhole: z-depth, panorama: range along the ray
  world/<same tree>/<stem>_segmentIds.png  uint16, one id per object and per connected stuff region
  world/<same tree>/<stem>_partIds.png     uint16, nested parts (windows, wheels, ...), 0 = none
  world_index.npz                          image -> masks lookup for the ideal segmenter
  manifest.json                            written last: what was built and with which settings
```
Every image's scene seed comes from `SeedSequence([seed, domain, split, index])`: source and
target scenes never share a seed, and an image does not depend on how many others are built.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from samdistill.core.labels import HAS_INSTANCES, NUM_CLASSES, train_id_to_label_id
from samdistill.world.index import write_index
from samdistill.world.render import RenderOutput, render
from samdistill.world.scene import DOMAINS, generate_scene
from samdistill.world.style import STYLES, draw_style
from samdistill.world.views import panorama_view, pinhole_view

VERSION = 1
PINHOLE_CITIES = {"train": ("alderton", "birchfield", "cedarvale"), "val": ("dunmore",)}
PANO_CITIES = ("Elmstead", "Fairhaven")
IMAGES_PER_CITY = 50
_DOMAIN_CODE = {"source": 1, "target": 2}
_SPLIT_CODE = {"train": 1, "val": 2, "dev": 3}  # dev: labeled panoramas to choose settings on


@dataclass(frozen=True)
class WorldBuildConfig:
    pinhole_train: int = 200
    pinhole_val: int = 50
    pano_train: int = 100
    pano_val: int = 40
    pinhole_size: tuple[int, int] = (128, 256)  # (H, W), Cityscapes' 1:2
    pano_size: tuple[int, int] = (128, 640)  # (H, W), DensePASS' 2048x400 is about 1:5
    hfov_deg: float = 70.0  # pinhole, horizontal
    vfov_deg: float = 70.0  # panorama, vertical
    seed: int = 0
    domain_shift: bool = True  # panoramas get the target's scenes and style; False: the source's (projection only)

    def __post_init__(self) -> None:
        for name in ("pinhole_train", "pinhole_val", "pano_train", "pano_val"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("pinhole_size", "pano_size"):
            h, w = getattr(self, name)
            if h < 8 or w < 8:
                raise ValueError(f"{name} must be at least 8x8 pixels, got {h}x{w}")


@dataclass(frozen=True)
class Job:
    domain: str  # source (pinhole) | target (panorama)
    split: str
    index: int
    image: str  # relative path of the RGB image
    label: Optional[str]  # relative path of the train-id label, None when unlabeled


def scene_seed(seed: int, domain: str, split: str, index: int) -> int:
    return int(np.random.SeedSequence([seed, _DOMAIN_CODE[domain], _SPLIT_CODE[split], index]).generate_state(1)[0])


def jobs(cfg: WorldBuildConfig) -> list[Job]:
    out = []
    for split, count in (("train", cfg.pinhole_train), ("val", cfg.pinhole_val)):
        cities = PINHOLE_CITIES[split]
        for i in range(count):
            city = cities[(i // IMAGES_PER_CITY) % len(cities)]
            stem = f"{city}_{i:06d}_000019"
            out.append(Job("source", split, i, f"pinhole/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png",
                           f"pinhole/gtFine/{split}/{city}/{stem}_gtFine_labelTrainIds.png"))
    for i in range(cfg.pano_train):
        city = PANO_CITIES[(i // IMAGES_PER_CITY) % len(PANO_CITIES)]
        out.append(Job("target", "train", i, f"pano/leftImg8bit/train/{city}/{i}.png", None))
    for i in range(cfg.pano_val):
        out.append(Job("target", "val", i, f"pano/leftImg8bit/val/{i}_.png", f"pano/gtFine/val/{i}_labelTrainIds.png"))
    return out


def dev_jobs(count: int) -> list[Job]:
    """Labeled dev panoramas: their own scene seeds (split code `dev`), written in DensePASS' labeled
    layout (`val/`) of a folder of their own, so settings are chosen on them and the test panoramas only report."""
    return [Job("target", "dev", i, f"pano/leftImg8bit/val/{i}_.png", f"pano/gtFine/val/{i}_labelTrainIds.png")
            for i in range(count)]


def render_job(job: Job, cfg: WorldBuildConfig) -> RenderOutput:
    seed = scene_seed(cfg.seed, job.domain, job.split, job.index)
    look = job.domain if cfg.domain_shift else "source"  # scene statistics and style
    scene = generate_scene(seed, DOMAINS[look])
    rng = np.random.default_rng([seed, 1])
    if job.domain == "source":
        camera = pinhole_view(scene, rng, *cfg.pinhole_size, hfov_deg=cfg.hfov_deg)
    else:
        camera = panorama_view(scene, rng, *cfg.pano_size, vfov_deg=cfg.vfov_deg)
    return render(scene, camera, draw_style(rng, STYLES[look]))


def build_world(out: Path, cfg: WorldBuildConfig, progress: bool = True, todo: Optional[list[Job]] = None) -> dict:
    """Render and write every image of `cfg` (or the jobs `todo`, e.g. `dev_jobs`) under `out` (which
    should be empty); returns the manifest."""
    from tqdm.auto import tqdm

    out = Path(out)
    explicit, todo = todo is not None, jobs(cfg) if todo is None else todo
    counts = np.zeros((2, NUM_CLASSES + 1), np.int64)  # pixels per class, per domain
    index_rows: dict[str, list] = {"pinhole": [], "pano": []}
    manifest_counts = dict.fromkeys(("pinhole_train", "pinhole_val", "pano_train", "pano_val"), 0)
    for job in tqdm(todo, desc="rendering the street world", unit="img", disable=not progress):
        result = render_job(job, cfg)
        key = f"{'pinhole' if job.domain == 'source' else 'pano'}_{job.split}"
        manifest_counts[key] = manifest_counts.get(key, 0) + 1
        write_job(out, job, result)
        counts[_DOMAIN_CODE[job.domain] - 1] += np.bincount(result.label.ravel(), minlength=NUM_CLASSES + 1)[:NUM_CLASSES + 1]
        root, image_rel = job.image.split("/", 1)
        seg, part = masks_paths(image_rel)
        index_rows[root].append((image_rel, seg, part, _to_uint8(result.rgb)))
    for root, rows in index_rows.items():
        if explicit and not rows:
            continue
        (out / root).mkdir(parents=True, exist_ok=True)
        write_index(out / root, rows)
    manifest = {
        "name": "street-world", "version": VERSION, "config": asdict(cfg),
        "counts": manifest_counts,
        "class_pixels": {"source": counts[0, :NUM_CLASSES].tolist(), "target": counts[1, :NUM_CLASSES].tolist()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def write_job(out: Path, job: Job, r: RenderOutput) -> None:
    image = out / job.image
    _save(image, _to_uint8(r.rgb))
    rel = Path(job.image).relative_to(job.image.split("/", 1)[0])  # leftImg8bit/<split>/...
    base = Path(job.image.split("/", 1)[0])
    stem = image_stem(image.name)
    tree = Path(*rel.parts[1:-1])  # <split>/<city>
    if job.label is not None:
        _save(out / job.label, r.label)
        if job.domain == "source":
            gt = out / base / "gtFine" / tree
            label_ids = train_id_to_label_id(r.label)
            _save(gt / f"{stem}_gtFine_labelIds.png", label_ids)
            _save(gt / f"{stem}_gtFine_instanceIds.png", cityscapes_instance_ids(label_ids, r.objects, r.things))
    depth_mm = np.clip(np.round(r.depth * 1000.0), 0, 65535).astype(np.uint16)
    _save(out / base / "depth" / tree / f"{stem}_depth.png", depth_mm)
    seg, part = masks_paths(str(rel))
    _save(out / base / seg, consecutive_ids(r.segments, keep_zero=False))
    _save(out / base / part, consecutive_ids(r.parts, keep_zero=True))


def masks_paths(image_rel: str) -> tuple[str, str]:
    """`leftImg8bit/<tree>/<stem>[_leftImg8bit].png` -> the segment and part maps under `world/<tree>/`."""
    rel = Path(image_rel)
    stem = image_stem(rel.name)
    tree = Path("world", *rel.parts[1:-1])
    return str(tree / f"{stem}_segmentIds.png"), str(tree / f"{stem}_partIds.png")


def image_stem(name: str) -> str:
    """`x_leftImg8bit.png` -> `x` (Cityscapes), `7_.png` -> `7` (DensePASS), `3.png` -> `3`."""
    if name.endswith("_leftImg8bit.png"):
        return name[: -len("_leftImg8bit.png")]
    return Path(name).stem.rstrip("_") or Path(name).stem


def cityscapes_instance_ids(label_ids: np.ndarray, objects: np.ndarray, things: np.ndarray) -> np.ndarray:
    """Cityscapes' instanceIds encoding: label id * 1000 + k (k from 0, per class, in order of
    first appearance) for countable classes, the plain label id for everything else."""
    out = label_ids.astype(np.uint16)
    countable = things & np.isin(label_ids, list(HAS_INSTANCES))
    for label in np.unique(label_ids[countable]):
        sel = countable & (label_ids == label)
        _, first = np.unique(objects[sel], return_index=True)
        ordered = objects[sel][np.sort(first)]
        for k, obj in enumerate(ordered):
            out[sel & (objects == obj)] = int(label) * 1000 + k
    return out


def consecutive_ids(ids: np.ndarray, keep_zero: bool) -> np.ndarray:
    """Relabel to 1..K in order of first appearance (row-major); with keep_zero 0 stays 0."""
    flat = ids.ravel()
    values, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    rank = np.empty(len(values), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(values) + 1)
    if keep_zero and values[0] == 0:
        rank = rank - (rank > rank[0])
        rank[0] = 0
    if rank.max() > 65535:
        raise ValueError(f"{rank.max()} ids do not fit a 16-bit PNG")
    return rank[inverse].reshape(ids.shape).astype(np.uint16)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # zlib level 6, no timestamps or text chunks: the same pixels give the same bytes
    Image.fromarray(pixels).save(path, format="PNG", compress_level=6)
