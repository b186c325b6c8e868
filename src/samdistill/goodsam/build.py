"""Config -> (GoodSAM method, train loader, val loader) for either stage."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from accelerate.utils import set_seed
from torch.utils.data import DataLoader, Dataset

from samdistill.core.errors import DataError
from samdistill.data.segmentation.dataset import SegmentationDataset
from samdistill.goodsam.config import GoodSAMConfig
from samdistill.goodsam.data import PanoramaWindows
from samdistill.goodsam.method import GoodSAM


class WithSource(Dataset):
    """Target panoramas, each paired with one labeled source image drawn from (seed, epoch, index)."""

    def __init__(self, target: Dataset, source: Optional[SegmentationDataset], seed: int = 0):
        self.target, self.source, self.seed, self.epoch = target, source, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        for ds in (self.target, self.source):
            if hasattr(ds, "set_epoch"):
                ds.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, index: int) -> dict:
        item = {"target": self.target[index]}
        if self.source is not None:
            pick = int(np.random.default_rng([self.seed, self.epoch, index]).integers(len(self.source)))
            item["source"] = self.source[pick]
        return item


def _with_classes(ds_cfg, classes: int):
    return ds_cfg.model_copy(update={"classes": classes})


def masks_per_window(cfg: Any) -> bool:
    choice = cfg.goodsam.data.masks_per_window
    return choice if choice is not None else cfg.priors.backend != "world"


def build_goodsam_experiment(cfg: Any) -> tuple[GoodSAM, DataLoader, Optional[DataLoader]]:
    g = cfg.goodsam
    d = g.data
    source = SegmentationDataset(_with_classes(d.source, g.classes), crop=d.source_crop, hflip=True, seed=cfg.seed)
    if g.stage == "source":
        train_set, batch_size = source, d.batch_size
    else:
        from samdistill.priors.provider import PriorProvider

        provider = PriorProvider(cfg.priors, source="lq")
        target = PanoramaWindows(_with_classes(d.target, g.classes), g.windows, provider, d.num_masks,
                                 masks_per_window=masks_per_window(cfg))
        train_set = WithSource(target, source if g.weights.source > 0 else None, seed=cfg.seed)
        batch_size = d.target_batch_size
    if len(train_set) < batch_size:
        raise DataError(f"{len(train_set)} training items is fewer than the batch size {batch_size}")
    generator = torch.Generator().manual_seed(cfg.seed)
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator,
                       num_workers=d.num_workers)
    val = None
    if d.val is not None:
        val_cfg = _with_classes(d.val, g.classes)
        if d.val_limit is not None:
            val_cfg = val_cfg.model_copy(update={"limit": d.val_limit})
        val = DataLoader(SegmentationDataset(val_cfg), batch_size=1, shuffle=False, num_workers=d.num_workers)
    set_seed(cfg.seed)
    return GoodSAM(g), train, val
