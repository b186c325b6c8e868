"""DataLoaders for training (random crops, augmentation, seeded shuffle) and validation (full images)."""
from __future__ import annotations

import math
import os
from typing import Optional

import torch
from torch.utils.data import DataLoader

from samdistill.data.config import DataConfig, DatasetConfig
from samdistill.core.errors import DataError
from samdistill.data.layouts import resolve_pairs
from samdistill.data.paired import PairedImageDataset, PairPriorProvider
from samdistill.data.worker_logs import WorkerWarningsOnce

MIN_ITEMS_PER_EPOCH = 1000


def num_workers(setting: int | str) -> int:
    """`data.num_workers`; "auto": min(8, usable CPUs - 1), leaving one CPU to the training process."""
    if setting != "auto":
        return int(setting)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cpus - 1))


class ValidationPairs(PairedImageDataset):
    """Validation never stops a run: a pair that cannot be read (damaged after the decode check)
    becomes a 1x1 placeholder carrying ``read_error`` (the message names the file), which the
    trainer reports once and leaves out of the scores."""

    def __getitem__(self, item: int) -> dict:
        try:
            return super().__getitem__(item)
        except DataError as err:
            index = item % len(self.pairs)
            return {"lq": torch.zeros(3, 1, 1), "gt": torch.zeros(3, 1, 1), "name": self.pairs[index].name,
                    "index": index, "read_error": str(err)}


def build_dataloader(ds_cfg: DatasetConfig, data_cfg: DataConfig, train: bool,
                     prior_provider: Optional[PairPriorProvider] = None, seed: int = 0) -> DataLoader:
    """Train: ``crop_size`` crops, augmentation, shuffle from ``seed``, ``drop_last``.
    Validation: full images, batch size 1, in order, at most ``data_cfg.val_limit`` pairs."""
    if not train and data_cfg.val_limit is not None:
        limit = min(data_cfg.val_limit, ds_cfg.limit or data_cfg.val_limit)
        ds_cfg = ds_cfg.model_copy(update={"limit": limit})
    workers = num_workers(data_cfg.num_workers)
    # a damaged file, or (training) an image smaller than the crop, fails (or is skipped) now, not at step N
    pairs = resolve_pairs(ds_cfg, full_decode=True, crop_size=data_cfg.crop_size if train else None)
    if not train:
        dataset = ValidationPairs(ds_cfg, prior_provider=prior_provider, seed=seed, pairs=pairs)
        return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=workers,
                          worker_init_fn=WorkerWarningsOnce() if workers else None)
    repeat = data_cfg.repeat or max(1, math.ceil(MIN_ITEMS_PER_EPOCH / len(pairs)))
    dataset = PairedImageDataset(ds_cfg, crop_size=data_cfg.crop_size, augment=data_cfg.augment,
                                 prior_provider=prior_provider, seed=seed, repeat=repeat, pairs=pairs)
    if len(dataset) < data_cfg.batch_size:
        raise DataError(f"{len(dataset)} training items (x{repeat} repeat) is fewer than batch_size "
                        f"{data_cfg.batch_size}; lower data.batch_size or raise data.repeat")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=data_cfg.batch_size, shuffle=True, drop_last=True,
                      generator=generator, num_workers=workers,
                      worker_init_fn=WorkerWarningsOnce() if workers else None,
                      persistent_workers=False)
