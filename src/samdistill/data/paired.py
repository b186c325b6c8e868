"""The paired (LQ, GT) dataset every restoration method trains and validates on."""
from __future__ import annotations

import dataclasses
from typing import Optional, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from samdistill.data.config import AugmentConfig, DatasetConfig
from samdistill.core.errors import DataError
from samdistill.data.io import read_image, to_tensor
from samdistill.data.layouts import Pair, resolve_pairs
from samdistill.data.transforms import PairedTransform


class PairPriorProvider(Protocol):
    def masks_for_pair(self, index: int, pair: Pair, lq: np.ndarray, gt: np.ndarray) -> np.ndarray:
        """np.float32 (N, H, W) mask stack at the full resolution of ``lq``/``gt``. A provider whose
        ``ranks_in_window`` is true also takes ``window=(top, left, height, width)`` (None: the whole
        image) and returns the masks chosen inside that crop, already cropped."""


class PairedImageDataset(Dataset):
    """Items: ``{"lq": (3,H,W), "gt": (3,H,W), "name": str, "index": int}`` plus ``"masks": (N,H,W)``
    when a prior provider is given. ``index`` is the pair's index in ``self.pairs``.

    With ``crop_size`` every item is a random square crop (plus the ``augment`` flips/rotations),
    identical for LQ, GT and masks. The randomness of item ``i`` comes from
    ``np.random.default_rng([seed, epoch, i])``: reproducible, and independent of worker count.
    ``repeat`` makes one epoch visit every pair ``repeat`` times (small training sets).
    """

    def __init__(self, ds_cfg: DatasetConfig, crop_size: Optional[int] = None, augment: Optional[AugmentConfig] = None,
                 prior_provider: Optional[PairPriorProvider] = None, seed: int = 0, repeat: int = 1,
                 pairs: Optional[list[Pair]] = None):
        if repeat < 1:
            raise DataError(f"repeat must be >= 1, got {repeat}")
        self.cfg = ds_cfg
        self.pairs: list[Pair] = list(pairs) if pairs is not None else resolve_pairs(ds_cfg)
        self.prior_provider = prior_provider
        self.seed = seed
        self.repeat = repeat
        self.epoch = 0
        aug = augment or AugmentConfig(hflip=False, vflip=False, rot90=False)
        self.transform = PairedTransform(crop_size, hflip=aug.hflip, vflip=aug.vflip, rot90=aug.rot90)

    def set_epoch(self, epoch: int) -> None:
        """Change the random crops/flips for a new epoch (call before iterating)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs) * self.repeat

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution (LQ, GT) of pair ``index`` as float (H, W, 3)."""
        pair = self.pairs[index]
        lq = read_image(pair.lq, box=pair.lq_box)
        gt = read_image(pair.gt, box=pair.gt_box)
        if lq.shape != gt.shape:
            raise DataError(f"size mismatch: LQ {pair.lq} is {lq.shape[1]}x{lq.shape[0]} but GT {pair.gt} is "
                            f"{gt.shape[1]}x{gt.shape[0]} (WxH)")
        return lq, gt

    def __getitem__(self, item: int) -> dict:
        if not 0 <= item < len(self):
            raise IndexError(f"item {item} out of range for {len(self)} items")
        index = item % len(self.pairs)
        pair = self.pairs[index]
        lq, gt = self.read_pair(index)
        rng = np.random.default_rng([self.seed, self.epoch, item])
        try:
            params = self.transform.sample(rng, lq.shape[0], lq.shape[1])
        except DataError as err:
            raise DataError(f"{pair.lq}: {err}") from err
        masks, mask_params = self._masks(index, pair, lq, gt, params)
        out = {
            "lq": to_tensor(self.transform.apply(params, lq)),
            "gt": to_tensor(self.transform.apply(params, gt)),
            "name": pair.name,
            "index": index,
        }
        if masks is not None:
            out["masks"] = torch.from_numpy(self.transform.apply(mask_params, masks, channels_first=True))
        return out

    def _masks(self, index: int, pair: Pair, lq: np.ndarray, gt: np.ndarray, params):
        """The mask stack and the transform still to apply to it (the crop is done when the
        provider ranks masks inside the crop window)."""
        if self.prior_provider is None:
            return None, params
        in_window = getattr(self.prior_provider, "ranks_in_window", False)
        if in_window:
            window = None if params.size is None else (params.top, params.left, params.size, params.size)
            masks = self.prior_provider.masks_for_pair(index, pair, lq, gt, window=window)
            expect = lq.shape[:2] if params.size is None else (params.size, params.size)
            params = dataclasses.replace(params, size=None)  # cropped already; flips/rotation remain
        else:
            masks = self.prior_provider.masks_for_pair(index, pair, lq, gt)
            expect = lq.shape[:2]
        masks = np.asarray(masks, dtype=np.float32)
        if masks.ndim != 3 or masks.shape[1:] != tuple(expect):
            raise DataError(f"{pair.lq}: prior provider returned masks of shape {masks.shape}, expected "
                            f"(N, {expect[0]}, {expect[1]})")
        return masks, params
