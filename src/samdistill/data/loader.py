"""DataLoaders: `make_loader`, the one builder of both recipes (seeded shuffle, drop_last, workers),
and `build_dataloader`, restoration's pairs through it (random crops, augmentation; validation: full images)."""
from __future__ import annotations

import math
import os
from typing import Optional

import torch
from torch.utils.data import DataLoader, Dataset

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


def make_loader(dataset: Dataset, batch_size: int, *, train: bool, seed: int = 0, workers: int | str = 0,
                what: str = "training items", hint: str = "") -> DataLoader:
    """The one DataLoader builder of both recipes (restoration pairs, GoodSAM's segmentation data).
    Train: a new order each epoch from a generator seeded with ``seed``, ``drop_last`` (fewer items
    than ``batch_size`` is a DataError: "N ``what`` is fewer than batch_size B``hint``").
    Otherwise: in order, every item. ``workers``: ``num_workers``'s setting; each worker's warnings
    are shown once per run (``WorkerWarningsOnce``)."""
    count = num_workers(workers)
    init = WorkerWarningsOnce() if count else None
    if not train:
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=count, worker_init_fn=init)
    if len(dataset) < batch_size:
        raise DataError(f"{len(dataset)} {what} is fewer than batch_size {batch_size}{hint}")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator,
                      num_workers=count, worker_init_fn=init, persistent_workers=False)


def build_dataloader(ds_cfg: DatasetConfig, data_cfg: DataConfig, train: bool,
                     prior_provider: Optional[PairPriorProvider] = None, seed: int = 0) -> DataLoader:
    """Train: ``crop_size`` crops, augmentation, shuffle from ``seed``, ``drop_last``.
    Validation: full images, batch size 1, in order, at most ``data_cfg.val_limit`` pairs."""
    if not train and data_cfg.val_limit is not None:
        limit = min(data_cfg.val_limit, ds_cfg.limit or data_cfg.val_limit)
        ds_cfg = ds_cfg.model_copy(update={"limit": limit})
    # a damaged file, or (training) an image smaller than the crop, fails (or is skipped) now, not at step N
    pairs = resolve_pairs(ds_cfg, full_decode=True, crop_size=data_cfg.crop_size if train else None)
    if not train:
        dataset = ValidationPairs(ds_cfg, prior_provider=prior_provider, seed=seed, pairs=pairs)
        return make_loader(dataset, 1, train=False, workers=data_cfg.num_workers)
    repeat = data_cfg.repeat or max(1, math.ceil(MIN_ITEMS_PER_EPOCH / len(pairs)))
    dataset = PairedImageDataset(ds_cfg, crop_size=data_cfg.crop_size, augment=data_cfg.augment,
                                 prior_provider=prior_provider, seed=seed, repeat=repeat, pairs=pairs)
    return make_loader(dataset, data_cfg.batch_size, train=True, seed=seed, workers=data_cfg.num_workers,
                       what=f"training items (x{repeat} repeat)",
                       hint="; lower data.batch_size or raise data.repeat")
