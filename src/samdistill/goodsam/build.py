"""Config -> (GoodSAM method, train loader, val loader) for either stage: provider, datasets
(every file decode-checked up front), loaders through `data.loader.make_loader`, then the method."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from accelerate.utils import set_seed
from torch.utils.data import DataLoader, Dataset

from samdistill.data.loader import make_loader
from samdistill.data.segmentation.dataset import SegmentationDataset
from samdistill.data.segmentation.layouts import resolve_samples
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


def _checked(ds_cfg) -> list:
    """The samples with every image and label fully decoded now (cached), so a damaged file fails
    here, naming it, not at the step that draws it."""
    return resolve_samples(ds_cfg, full_decode=True)


def masks_per_window(cfg: Any) -> bool:
    choice = cfg.goodsam.data.masks_per_window
    return choice if choice is not None else cfg.priors.backend != "world"


def build_prior_provider(cfg: Any) -> Optional[Any]:
    """The target panoramas' masks (adapt stage); the source stage reads none."""
    if cfg.goodsam.stage == "source":
        return None
    from samdistill.priors.provider import PriorProvider

    return PriorProvider(cfg.priors, source="lq")


def build_datasets(cfg: Any, provider: Optional[Any]) -> tuple[Dataset, int, Optional[Dataset]]:
    """(training set, its batch size, labeled validation panoramas or None), given the provider."""
    g = cfg.goodsam
    d = g.data
    source_cfg = _with_classes(d.source, g.classes)
    use_source = g.stage == "source" or g.weights.source > 0
    source = SegmentationDataset(source_cfg, crop=d.source_crop, hflip=True, seed=cfg.seed,
                                 samples=_checked(source_cfg) if use_source else None)
    if g.stage == "source":
        train_set, batch_size = source, d.batch_size
    else:
        target_cfg = _with_classes(d.target, g.classes)
        target = PanoramaWindows(target_cfg, g.windows, provider, d.num_masks,
                                 masks_per_window=masks_per_window(cfg), samples=_checked(target_cfg))
        train_set = WithSource(target, source if use_source else None, seed=cfg.seed)
        batch_size = d.target_batch_size
    val = None
    if d.val is not None:
        val_cfg = _with_classes(d.val, g.classes)
        if d.val_limit is not None:
            val_cfg = val_cfg.model_copy(update={"limit": d.val_limit})
        val = SegmentationDataset(val_cfg, samples=_checked(val_cfg))
    return train_set, batch_size, val


def build_goodsam_experiment(cfg: Any) -> tuple[GoodSAM, DataLoader, Optional[DataLoader]]:
    """config -> prior provider -> datasets -> loaders (`data.loader.make_loader`, as restoration's)
    -> method, the order both recipes build in."""
    d = cfg.goodsam.data
    train_set, batch_size, val_set = build_datasets(cfg, build_prior_provider(cfg))
    key = "batch_size" if cfg.goodsam.stage == "source" else "target_batch_size"
    train = make_loader(train_set, batch_size, train=True, seed=cfg.seed, workers=d.num_workers,
                        hint=f"; lower goodsam.data.{key}")
    val = make_loader(val_set, 1, train=False, workers=d.num_workers) if val_set is not None else None
    set_seed(cfg.seed)
    return GoodSAM(cfg.goodsam), train, val
