"""`priors.backend: world` — an ideal SAM for street-world images: the renderer's exact masks.

For an image of the world (or a degraded / restored version of one) it returns one mask per
object and per connected stuff region, plus, with `parts`, the nested part masks (windows,
doors, wheels, car glass, heads, trunk and crown), as SAM's automatic masks nest whole and part.
Scores are 1 (exact). Images are found through the `world_index.npz` of the configured roots:
by the sha256 of their 8-bit pixels, else by thumbnail correlation among images of the same
size (see `world.index`); an image that matches nothing, or two images almost equally, is an error,
never a guess. Through a `PriorProvider` the pair's clean image is given as the reference, so a
restoration of any quality gets its scene's masks (`segment_by_reference`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from samdistill.core.cache_dir import default_cache_dir
from samdistill.priors.base import SegmenterBase, check_image
from samdistill.priors.config import WorldSegmenterConfig
from samdistill.priors.maskset import MaskSet
from samdistill.world.index import INDEX_NAME, pixel_sha, read_index, thumbnail

WORLD_SEGMENTER_VERSION = 1


class NotAWorldImage(ValueError):
    pass


class WorldSegmenter(SegmenterBase):
    def __init__(self, cfg: Optional[WorldSegmenterConfig] = None):
        self.cfg = cfg or WorldSegmenterConfig()
        self._roots = [Path(r).expanduser() for r in self.cfg.roots] or default_roots()
        if not self._roots:
            from samdistill.core.errors import ConfigError

            raise ConfigError("priors.backend=world found no street world: build one with `samdistill data world` "
                              "(or `samdistill data build-embedded embedded-street`) and/or set priors.world.roots")
        self._by_sha: dict[str, tuple[Path, str, str]] = {}
        self._by_shape: dict[tuple[int, int], tuple[np.ndarray, list[tuple[Path, str, str]]]] = {}
        self._digest = hashlib.sha256()
        for root in self._roots:
            self._load(root)

    def _load(self, root: Path) -> None:
        if not (root / INDEX_NAME).is_file():
            from samdistill.core.errors import ConfigError

            raise ConfigError(f"priors.world.roots: {root} has no {INDEX_NAME} (not a street-world folder)")
        index = read_index(root)
        self._digest.update((root / INDEX_NAME).read_bytes())
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (sha, shape) in enumerate(zip(index["sha"], index["shapes"])):
            entry = (root, str(index["segments"][i]), str(index["parts"][i]))
            self._by_sha.setdefault(str(sha), entry)
            groups.setdefault((int(shape[0]), int(shape[1])), []).append(i)
        for shape, rows in groups.items():
            thumbs, entries = self._by_shape.get(shape, (np.zeros((0, index["thumbs"].shape[1]), np.float32), []))
            new = index["thumbs"][rows]
            width = max(thumbs.shape[1], new.shape[1])
            thumbs = np.concatenate([_pad(thumbs, width), _pad(new, width)])
            entries = entries + [(root, str(index["segments"][i]), str(index["parts"][i])) for i in rows]
            self._by_shape[shape] = (thumbs, entries)

    def locate(self, pixels: np.ndarray) -> tuple[Path, str, str]:
        """(root, segment map, part map) of the world image these uint8 pixels show."""
        hit = self._by_sha.get(pixel_sha(pixels))
        if hit is not None:
            return hit
        shape = pixels.shape[:2]
        if shape not in self._by_shape:
            raise NotAWorldImage(f"no street-world image is {shape[0]}x{shape[1]} "
                                 f"(indexed sizes: {sorted(self._by_shape)}); is this a world image?")
        thumbs, entries = self._by_shape[shape]
        query = thumbnail(pixels)
        scores = thumbs[:, :len(query)] @ query
        order = np.argsort(scores)[::-1]
        best = int(order[0])
        if scores[best] < self.cfg.min_correlation:
            raise NotAWorldImage(f"image matches no street-world image (best thumbnail correlation "
                                 f"{scores[best]:.3f} < priors.world.min_correlation={self.cfg.min_correlation})")
        margin = scores[best] - scores[order[1]] if len(order) > 1 else 1.0
        if margin < self.cfg.min_margin:
            raise NotAWorldImage(f"image matches two street-world images almost equally (thumbnail correlations "
                                 f"{scores[best]:.3f} and {scores[order[1]]:.3f}, margin < priors.world.min_margin="
                                 f"{self.cfg.min_margin}): {entries[best][1]}, {entries[int(order[1])][1]}")
        return entries[best]

    def __call__(self, image: np.ndarray) -> MaskSet:
        return self._masks_of(self.locate(_to_pixels(image)))

    def segment_by_reference(self, image: np.ndarray, reference: np.ndarray) -> MaskSet:
        """The ideal masks of `image`, a version (degraded, restored) of the world image
        `reference`: an ideal SAM sees the scene whatever the restoration's quality. The
        provider passes a training pair's GT here; `image` only fixes the size."""
        if check_image(image).shape != check_image(reference).shape:
            raise ValueError(f"image {image.shape} and its reference {reference.shape} differ in size")
        return self._masks_of(self.locate(_to_pixels(reference)))

    def _masks_of(self, entry: tuple[Path, str, str]) -> MaskSet:
        root, seg_path, part_path = entry
        masks = [_id_masks(_read_ids(root / seg_path), keep_zero=True)]
        if self.cfg.parts:
            masks.append(_id_masks(_read_ids(root / part_path), keep_zero=False))
        stack = np.concatenate(masks)
        if self.cfg.min_area:
            stack = stack[stack.reshape(len(stack), -1).sum(1) >= self.cfg.min_area]
        ones = np.ones(len(stack), np.float32)
        return MaskSet(stack, ones, ones)

    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "world", "index": self._digest.hexdigest(), "parts": self.cfg.parts,
                "min_area": self.cfg.min_area, "min_correlation": self.cfg.min_correlation,
                "min_margin": self.cfg.min_margin,
                "version": WORLD_SEGMENTER_VERSION}


def _to_pixels(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(check_image(image) * 255), 0, 255).astype(np.uint8)


def default_roots() -> list[Path]:
    """Every street-world folder with an index in the embedded cache."""
    return sorted(p.parent for p in default_cache_dir().glob(f"*/v*/**/{INDEX_NAME}"))


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, ((0, 0), (0, width - a.shape[1])))


def _read_ids(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im).astype(np.int64)
    except (OSError, ValueError) as err:
        raise NotAWorldImage(f"{path}: cannot read the world's mask map ({err})") from err


def _id_masks(ids: np.ndarray, keep_zero: bool) -> np.ndarray:
    """One boolean mask per id (in increasing order); id 0 is 'no part' unless keep_zero."""
    values = np.unique(ids)
    if not keep_zero:
        values = values[values != 0]
    return ids[None] == values[:, None, None]
