"""Offline benchmarks built from photos shipped inside installed packages (no download).

Three benchmarks, each written once to ``<cache_dir>/<name>/v1/{train,test}/{input,target}/*.png``
(the Restormer layout, so the ordinary loader reads them):

- ``embedded-rain``:  ``degradations.add_rain(level="heavy")`` — two screen-blended streak layers
  (density 0.005 / 0.003 of pixels, length 27 / 19 px, Gaussian thickness 0.8 / 0.6 px,
  brightness 0.75 / 0.6, angle within +-25 degrees of vertical): heavy rain, Rain200H-like
  (the input's PSNR: README's demo table).
- ``embedded-noise``: ``degradations.add_gaussian_noise(sigma=25)`` (sigma in /255 units, clipped).
- ``embedded-blur``:  ``degradations.motion_blur(kernel_size=11)`` — one random camera-shake
  trajectory kernel per photo, reflect padding.

Photos are split by PHOTO, never by crop: the test photos (``TEST_PHOTOS``) never appear in train.
Every photo is resized so its short side is 256 px (bicubic, on 8-bit pixels). Test images are
256x256 centre crops; train photos are degraded whole and cut into 128x128 crops with stride 64.
Each photo's degradation uses ``np.random.default_rng([SEED, crc32(photo name)])``, so the output
depends only on which photos exist, never on build order or location. Photos whose files are
missing are skipped (listed in ``manifest.json``); fewer than ``MIN_TRAIN`` train or ``MIN_TEST``
test photos is an error.

The cache folder is ``$SAMDISTILL_CACHE`` or ``~/.cache/samdistill`` unless given. A build goes to a
temporary folder renamed into place, with ``manifest.json`` written last; a folder with a valid
manifest is reused.
"""
from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image

from samdistill.data import degradations
from samdistill.core.cache_dir import build_atomically, default_cache_dir
from samdistill.core.errors import DataError
from samdistill.data.io import read_image, to_uint8, write_image

log = logging.getLogger(__name__)

VERSION = 1
SEED = 2024
SHORT_SIDE = 256
TEST_SIZE = 256
TRAIN_CROP = 128
TRAIN_STRIDE = 64
MIN_TRAIN, MIN_TEST = 4, 2

BENCHMARKS: dict[str, tuple[str, dict]] = {
    "embedded-rain": ("rain", {"level": "heavy"}),
    "embedded-noise": ("noise", {"sigma": 25.0}),
    "embedded-blur": ("blur", {"kernel_size": 11}),
    # rendered street scenes with the same degradations (and the world's exact masks): world/embedded.py
    "embedded-street-rain": ("rain", {"level": "heavy"}),
    "embedded-street-noise": ("noise", {"sigma": 25.0}),
    "embedded-street-blur": ("blur", {"kernel_size": 11}),
}

_SKIMAGE_FILES = {
    "astronaut": "astronaut.png", "chelsea": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg",
    "motorcycle_left": "motorcycle_left.png", "motorcycle_right": "motorcycle_right.png",
    "hubble_deep_field": "hubble_deep_field.jpg", "retina": "retina.jpg", "ihc": "ihc.png", "color": "color.png",
    "camera": "camera.png", "brick": "brick.png", "grass": "grass.png", "gravel": "gravel.png",
    "moon": "moon.png", "coins": "coins.png",
}
TEST_PHOTOS = ("astronaut", "chelsea", "coffee", "china")
TRAIN_PHOTOS = ("rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field", "retina", "ihc", "color",
                "camera", "brick", "grass", "gravel", "moon", "coins", "flower", "grace_hopper")


def embedded_dir(name: str, cache_dir: Optional[str | Path] = None) -> Path:
    """Where benchmark ``name`` lives (``<cache>/<name>/v1``), built or not."""
    _check_name(name)
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return cache / name / f"v{VERSION}"


def ensure_embedded(name: str, cache_dir: Optional[str | Path] = None) -> Path:
    """Return ``<cache>/<name>/v1``, building it first unless a valid copy exists."""
    final = embedded_dir(name, cache_dir)
    if _manifest_ok(final, name):
        return final
    if final.exists():
        log.warning("%s: incomplete or outdated embedded benchmark, rebuilding", final)
    return build_atomically(final, lambda tmp: _build(name, tmp), lambda p: _manifest_ok(p, name))


def photo_sources() -> dict[str, Path]:
    """Every photo this package knows, with its file path (whether or not the file exists)."""
    sources: dict[str, Path] = {}
    try:
        import skimage.data

        sources.update({k: Path(skimage.data.data_dir) / f for k, f in _SKIMAGE_FILES.items()})
    except ImportError:
        pass
    try:
        import sklearn.datasets

        images = Path(sklearn.datasets.__file__).parent / "images"
        sources.update({"china": images / "china.jpg", "flower": images / "flower.jpg"})
    except ImportError:
        pass
    try:
        import matplotlib

        sources["grace_hopper"] = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    except ImportError:
        pass
    return sources


def load_photo(path: Path) -> np.ndarray:
    """A photo resized so its short side is SHORT_SIDE, as float (H, W, 3) of exact 8-bit values."""
    pixels = to_uint8(read_image(path))
    h, w = pixels.shape[:2]
    scale = SHORT_SIDE / min(h, w)
    size = (max(SHORT_SIDE, round(w * scale)), max(SHORT_SIDE, round(h * scale)))
    resized = Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32) / 255.0


def degrade(name: str, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Benchmark `name`'s degradation of `img` (float (H, W, 3) in [0, 1])."""
    kind, params = BENCHMARKS[name]
    fns: dict[str, Callable[[], np.ndarray]] = {
        "rain": lambda: degradations.add_rain(img, rng, **params),
        "noise": lambda: degradations.add_gaussian_noise(img, params["sigma"], rng),
        "blur": lambda: degradations.motion_blur(img, rng, params["kernel_size"]),
    }
    return fns[kind]()


# --- internals -------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name not in BENCHMARKS:
        raise DataError(f"unknown embedded benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")


def _photo_rng(photo: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(photo.encode())])


def _available(wanted: tuple[str, ...], sources: dict[str, Path], missing: list[str]) -> list[str]:
    found = []
    for photo in wanted:
        path = sources.get(photo)
        if path is not None and path.is_file():
            found.append(photo)
        else:
            missing.append(photo)
    return found


def _build(name: str, out: Path) -> None:
    if name.startswith("embedded-street-"):
        from samdistill.world.embedded import build_street_benchmark

        counts = build_street_benchmark(out, lambda img, rng: degrade(name, img, rng))
        kind, params = BENCHMARKS[name]
        manifest = {"name": name, "version": VERSION, "degradation": {"kind": kind, **params}, "counts": counts,
                    "source": "street world (samdistill.world), pinhole renders"}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        return
    sources, missing = photo_sources(), []
    test, train = _available(TEST_PHOTOS, sources, missing), _available(TRAIN_PHOTOS, sources, missing)
    if len(test) < MIN_TEST or len(train) < MIN_TRAIN:
        raise DataError(f"cannot build {name}: need {MIN_TEST} test and {MIN_TRAIN} train photos from "
                        f"scikit-image/scikit-learn/matplotlib, found {len(test)} and {len(train)} "
                        f"(missing: {', '.join(missing)})")
    counts = {"test": 0, "train": 0}
    for photo in test:
        clean = _center_crop(load_photo(sources[photo]), TEST_SIZE)
        counts["test"] += _write_pair(out / "test", photo, clean, degrade(name, clean, _photo_rng(photo)))
    for photo in train:
        clean = load_photo(sources[photo])
        noisy = degrade(name, clean, _photo_rng(photo))
        for top, left in _grid(clean.shape[:2]):
            window = (slice(top, top + TRAIN_CROP), slice(left, left + TRAIN_CROP))
            counts["train"] += _write_pair(out / "train", f"{photo}_{top:04d}_{left:04d}", clean[window], noisy[window])
    kind, params = BENCHMARKS[name]
    manifest = {
        "name": name, "version": VERSION, "seed": SEED, "degradation": {"kind": kind, **params},
        "test_photos": test, "train_photos": train, "missing_photos": missing, "counts": counts,
        "sources": {p: f"{sources[p].parent.name}/{sources[p].name}" for p in test + train},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def _write_pair(split_dir: Path, stem: str, clean: np.ndarray, degraded: np.ndarray) -> int:
    write_image(split_dir / "target" / f"{stem}.png", clean, compress_level=1)  # fast; pixels identical
    write_image(split_dir / "input" / f"{stem}.png", degraded, compress_level=1)
    return 1


def _center_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return img[top:top + size, left:left + size]


def _grid(shape: tuple[int, int]) -> list[tuple[int, int]]:
    h, w = shape
    rows = range(0, h - TRAIN_CROP + 1, TRAIN_STRIDE)
    cols = range(0, w - TRAIN_CROP + 1, TRAIN_STRIDE)
    return [(top, left) for top in rows for left in cols]


def _manifest_ok(folder: Path, name: str) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("name") != name or manifest.get("version") != VERSION:
        return False
    counts = manifest.get("counts")
    if not isinstance(counts, dict) or set(counts) != {"train", "test"}:
        return False
    for split, count in counts.items():
        for side in ("input", "target"):
            if len(list((folder / split / side).glob("*.png"))) != count:
                return False
    return True
