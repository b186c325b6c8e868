"""`PriorProvider`: masks for an image through the cache, and the `(N, H, W)` stacks datasets carry.

Lookup order: in-memory LRU of encoded stacks (the same image is read every epoch) -> the on-disk
mask cache -> the segmenter (then stored in the cache). Every process (DataLoader worker, rank)
has its own LRU and builds its own segmenter lazily on first use; the only shared state is the
file cache, whose writes are atomic.

With `priors.select: crop` (see `priors/selection.py`) the dataset passes its crop window and
the provider picks the N largest masks *inside* it from the image's `crop_candidates` largest;
a full image (no window: validation) is ranked per tile of `tile_size` (`priors.val_select`).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Literal, Optional

import numpy as np

from samdistill.priors.cache import MaskCache, image_hash
from samdistill.priors.config import PriorsConfig
from samdistill.priors.encodings import to_channels
from samdistill.priors.maskset import MaskSet
from samdistill.priors.rle_masks import RunLengthMasks
from samdistill.priors.selection import PackedCandidates, Window, select_in_tiles, select_in_window
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
        lru_bytes: int = 256 << 20,
        tile_size: Optional[int] = None,
    ):
        """`cache`: True (the configured `priors.cache_dir`), a `MaskCache`, or False (no disk cache).
        `lru_size` / `lru_bytes`: bit-packed stacks or crop candidates kept in memory per process
        (0 disables). `tile_size`: the training crop size; with `select: crop` and
        `val_select: tiles` a full image's masks are ranked per tile of this size (None: the
        whole image is ranked, for callers that do not train)."""
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
        self.lru_size, self.lru_bytes = lru_size, lru_bytes
        self.tile_size = tile_size if self.cfg.val_select == "tiles" else None
        self._lru: OrderedDict[tuple, Any] = OrderedDict()
        self._lru_used = 0
        self.stats = {"lru_hits": 0, "cache_hits": 0, "computed": 0}

    @property
    def num_masks(self) -> int:
        return self.cfg.num_masks

    @property
    def ranks_in_window(self) -> bool:
        """True: `masks_for_pair` takes the crop window and ranks masks inside it."""
        return self.cfg.select == "crop"

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

    def runs_for(self, image: np.ndarray, key: Optional[str] = None) -> Optional[RunLengthMasks]:
        """All masks of `image` as the disk cache stores them, checked but not decoded; None when they
        are not cached yet (or there is no disk cache): then `masks_for` computes and stores them."""
        if self.cache is None:
            return None
        image = check_image(image)
        runs = self.cache.get_runs(key or image_hash(image), self.fingerprint())
        if runs is not None:
            self.stats["cache_hits"] += 1
        return runs

    def stack_for(self, image: np.ndarray, reference: Optional[np.ndarray] = None) -> np.ndarray:
        """`(N, H, W)` float32 {0, 1}: `to_channels(masks_for(image), num_masks)`, LRU-cached.
        `reference`: the clean image `image` is a version of (a pair's GT), used only by segmenters
        that segment by reference (the street world's ideal one)."""
        image = check_image(image)
        key = image_hash(image)
        lru_key = (key, self.num_masks)
        hit = self._recall(lru_key)
        if hit is not None:
            packed, shape = hit
            return np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(np.float32)
        # Only the N largest masks are decoded from the cache (the offline segmenter stores hundreds).
        stack = to_channels(self._masks(image, key, top=self.num_masks, reference=reference), self.num_masks)
        # Bit-packed: 16 masks of 512x512 take 0.5 MB instead of 16 MB as float32.
        packed = np.packbits(stack.astype(bool))
        self._remember(lru_key, (packed, stack.shape), packed.nbytes)
        return stack

    def candidates_for(self, image: np.ndarray, reference: Optional[np.ndarray] = None) -> PackedCandidates:
        """The image's `priors.crop_candidates` largest masks (0: all), packed, LRU-cached."""
        image = check_image(image)
        key = image_hash(image)
        k = self.cfg.crop_candidates
        lru_key = (key, "candidates", k)
        hit = self._recall(lru_key)
        if hit is not None:
            return hit
        cands = PackedCandidates(self._masks(image, key, top=k or None, reference=reference), k)
        self._remember(lru_key, cands, cands.nbytes)
        return cands

    def stack_in_window(self, image: np.ndarray, window: Optional[Window],
                        reference: Optional[np.ndarray] = None) -> np.ndarray:
        """`(N, h, w)` float32: the N largest masks inside `window`; None: the whole image, ranked
        per tile of `tile_size` when set (else as one window)."""
        return self.select(self.candidates_for(image, reference), window)

    def select(self, candidates: PackedCandidates, window: Optional[Window]) -> np.ndarray:
        """The channels of `window` from an image's candidates (`stack_in_window`)."""
        if window is None and self.tile_size is not None:
            return select_in_tiles(candidates, self.tile_size, self.num_masks, self.cfg.drop_full_masks)
        return select_in_window(candidates, window, self.num_masks, self.cfg.drop_full_masks)

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

    def masks_for_pair(self, index: int, pair: Any, lq_img: np.ndarray, gt_img: np.ndarray,
                       window: Optional[Window] = None) -> np.ndarray:
        """What `PairedImageDataset` calls with the full-resolution pair: `(N, H, W)` float32, or
        with `window` (`ranks_in_window`) `(N, h, w)`: the masks ranked inside the crop."""
        image = self.image_for_source(index, lq_img, gt_img)
        if self.ranks_in_window:
            return self.stack_in_window(image, window, reference=gt_img)
        if window is not None:
            raise ValueError("priors.select is 'image': masks are chosen before the crop, pass no window")
        return self.stack_for(image, reference=gt_img)

    def _recall(self, lru_key: tuple) -> Any:
        hit = self._lru.get(lru_key)
        if hit is not None:
            self._lru.move_to_end(lru_key)
            self.stats["lru_hits"] += 1
            return hit[0]
        return None

    def _remember(self, lru_key: tuple, value: Any, nbytes: int) -> None:
        if self.lru_size <= 0 or nbytes > self.lru_bytes:
            return
        self._lru[lru_key] = (value, nbytes)
        self._lru_used += nbytes
        while len(self._lru) > self.lru_size or self._lru_used > self.lru_bytes:
            self._lru_used -= self._lru.popitem(last=False)[1][1]

    def __getstate__(self) -> dict:
        # Sent to DataLoader workers: each starts with an empty LRU and zeroed counters.
        state = self.__dict__.copy()
        state["_lru"], state["_lru_used"] = OrderedDict(), 0
        if self._owns_segmenter:
            state["_segmenter"] = None
        state["stats"] = dict.fromkeys(self.stats, 0)
        return state
