"""`PriorProvider`: masks for an image through the cache, and the `(N, H, W)` stacks datasets carry.

Lookup order: in-memory LRU of encoded stacks (the same image is read every epoch) -> the on-disk
mask cache -> the segmenter (then stored in the cache). Every process (DataLoader worker, rank)
has its own LRU and builds its own segmenter lazily on first use; the only shared state is the
file cache, whose writes are atomic.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Literal, Optional

import numpy as np

from samdistill.priors.cache import MaskCache, image_hash
from samdistill.priors.config import PriorsConfig
from samdistill.priors.encodings import to_channels
from samdistill.priors.maskset import MaskSet
from samdistill.priors.segmenter import Segmenter, build_segmenter, check_image

Source = Literal["lq", "gt", "restored"]
SOURCES = ("lq", "gt", "restored")


class PriorProvider:
    def __init__(
        self,
        priors_cfg: Optional[PriorsConfig] = None,
        segmenter: Optional[Segmenter] = None,
        source: Source = "lq",
        cache: Optional[MaskCache] | bool = True,
        lru_size: int = 256,
    ):
        """`cache`: True (the configured `priors.cache_dir`), a `MaskCache`, or False (no disk cache).
        `lru_size`: decoded stacks kept in memory per process (0 disables)."""
        if source not in SOURCES:
            raise ValueError(f"prior source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.cfg = priors_cfg or PriorsConfig()
        self.source = source
        self._segmenter = segmenter
        self._owns_segmenter = segmenter is None  # built here: rebuilt per process, not pickled
        self._fingerprint: Optional[dict] = None
        if cache is True:
            cache = MaskCache(self.cfg.cache_dir)
        self.cache: Optional[MaskCache] = cache or None
        self.lru_size = lru_size
        self._lru: OrderedDict[tuple, tuple[np.ndarray, tuple[int, ...]]] = OrderedDict()
        self.stats = {"lru_hits": 0, "cache_hits": 0, "computed": 0}

    @property
    def num_masks(self) -> int:
        return self.cfg.num_masks

    @property
    def segmenter(self) -> Segmenter:
        if self._segmenter is None:
            self._segmenter = build_segmenter(self.cfg)
        return self._segmenter

    def fingerprint(self) -> dict:
        if self._fingerprint is None:
            self._fingerprint = self.segmenter.fingerprint()
        return self._fingerprint

    def masks_for(self, image: np.ndarray, key: Optional[str] = None) -> MaskSet:
        """All masks of `image` (disk cache, else the segmenter). `key`: the image's content
        hash (`cache.image_hash`) when the caller already has it."""
        return self._masks(check_image(image), key, top=None)

    def stack_for(self, image: np.ndarray, reference: Optional[np.ndarray] = None) -> np.ndarray:
        """`(N, H, W)` float32 {0, 1}: `to_channels(masks_for(image), num_masks)`, LRU-cached.
        `reference`: the clean image `image` is a version of (a pair's GT), used only by segmenters
        that segment by reference (the street world's ideal one)."""
        image = check_image(image)
        key = image_hash(image)
        lru_key = (key, self.num_masks)
        hit = self._lru.get(lru_key)
        if hit is not None:
            self._lru.move_to_end(lru_key)
            self.stats["lru_hits"] += 1
            packed, shape = hit
            return np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(np.float32)
        # Only the N largest masks are decoded from the cache (the offline segmenter stores hundreds).
        stack = to_channels(self._masks(image, key, top=self.num_masks, reference=reference), self.num_masks)
        self._remember(lru_key, stack)
        return stack

    def _masks(self, image: np.ndarray, key: Optional[str], top: Optional[int],
               reference: Optional[np.ndarray] = None) -> MaskSet:
        key = key or image_hash(image)
        if self.cache is not None:
            cached = self.cache.get(key, self.fingerprint(), top=top)
            if cached is not None:
                self.stats["cache_hits"] += 1
                return cached
        by_reference = getattr(self.segmenter, "segment_by_reference", None)
        maskset = by_reference(image, reference) if reference is not None and by_reference else self.segmenter(image)
        if maskset.size != image.shape[:2]:
            raise ValueError(
                f"segmenter returned {maskset.size[0]}x{maskset.size[1]} masks for a "
                f"{image.shape[0]}x{image.shape[1]} image"
            )
        self.stats["computed"] += 1
        if self.cache is not None:
            self.cache.put(key, self.fingerprint(), maskset)
        return maskset

    def image_for_source(self, index: int, lq_img: np.ndarray, gt_img: np.ndarray) -> np.ndarray:
        """The image whose masks are the priors of pair `index`. Override for source="restored"
        (e.g. return IR1's current output for this pair)."""
        if self.source == "lq":
            return lq_img
        if self.source == "gt":
            return gt_img
        raise NotImplementedError(
            "prior source 'restored' needs IR1's outputs: use a PriorProvider subclass that "
            "overrides image_for_source"
        )

    def masks_for_pair(self, index: int, pair: Any, lq_img: np.ndarray, gt_img: np.ndarray) -> np.ndarray:
        """What `PairedImageDataset` calls with the full-resolution pair: `(N, H, W)` float32."""
        return self.stack_for(self.image_for_source(index, lq_img, gt_img), reference=gt_img)

    def _remember(self, lru_key: tuple, stack: np.ndarray) -> None:
        if self.lru_size <= 0:
            return
        # Bit-packed: 16 masks of 512x512 take 0.5 MB instead of 16 MB as float32.
        self._lru[lru_key] = (np.packbits(stack.astype(bool)), stack.shape)
        while len(self._lru) > self.lru_size:
            self._lru.popitem(last=False)

    def __getstate__(self) -> dict:
        # Sent to DataLoader workers: each starts with an empty LRU and zeroed counters.
        state = self.__dict__.copy()
        state["_lru"] = OrderedDict()
        if self._owns_segmenter:
            state["_segmenter"] = None
        state["stats"] = dict.fromkeys(self.stats, 0)
        return state
