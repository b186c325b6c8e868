"""Config of the restoration data: which dataset layout, where, and how it is cropped."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import Field, NonNegativeInt, model_validator

from samdistill.config.base import StrictModel

Layout = Literal[
    "embedded",   # built offline: embedded-{rain,noise,blur} (package photos), embedded-street-{rain,noise,blur} (street world)
    "rain200",    # Rain200L/H, Rain100L/H: norain/norain-{i}.png + rain/X2/norain-{i}x2.png
    "restormer",  # input/ + target/ with identical file names (Rain13K, Test100, ...)
    "didmdn",     # one file per pair, rainy | clean side by side
    "ddn",        # rainy_image/{i}_{k}.jpg (k=1..14) against ground_truth/{i}.jpg
    "gopro",      # {split}/{sequence}/blur/{frame}.png + sharp/{frame}.png
    "sidd",       # Data/{scene}/{id}_NOISY_SRGB_{k}.PNG + {id}_GT_SRGB_{k}.PNG
    "folders",    # generic: lq_dir + gt_dir matched by name or regex pattern
    "raincityscapes",  # leftImg8bit_rain/{split}/{city}/*_rain_alpha_*.png + leftImg8bit/ (+ gtFine/ labels)
]


class DatasetConfig(StrictModel):
    """One paired dataset (LQ degraded input, GT clean target)."""

    layout: Layout = "embedded"
    root: Optional[str] = Field(None, description="dataset root folder (not used for layout=embedded)")
    name: Optional[str] = Field(None, description="embedded benchmark name (layout=embedded; default embedded-rain)")
    split: Literal["train", "test", "val"] = Field(
        "train", description="split for embedded, gopro and raincityscapes (train | val; test reads val) layouts")
    lq_dir: Optional[str] = Field(None, description="folders layout: degraded images, relative to root")
    gt_dir: Optional[str] = Field(None, description="folders layout: clean images, relative to root")
    pattern: Optional[str] = Field(
        None,
        description="folders layout: regex with one group that extracts the pairing key from an LQ "
        "file name (default: match identical stems)",
    )
    didmdn_lq_side: Literal["left", "right"] = Field("left", description="didmdn: which half is rainy")
    on_bad_pairs: Literal["error", "skip"] = Field(
        "error", description="unmatched/duplicate/unreadable/size-mismatched pairs: stop, or skip and warn"
    )
    limit: Optional[int] = Field(None, ge=1, description="use only the first N pairs (debugging)")
    cache_dir: Optional[str] = Field(None, description="where embedded benchmarks are written (default ~/.cache/samdistill)")

    @model_validator(mode="after")
    def _check_layout_fields(self) -> "DatasetConfig":
        if self.layout != "embedded" and not self.root:
            raise ValueError(f"root is required for layout={self.layout!r}")
        if self.layout == "folders" and not (self.lq_dir and self.gt_dir):
            raise ValueError("layout='folders' needs both lq_dir and gt_dir")
        # Fields another layout reads are cleared, so the resolved config (run/config.yaml) shows what
        # this layout uses: `data.train.layout=rain200` over a folders config must not keep
        # `lq_dir: lq`, nor a rain200 set show `name: embedded-rain`.
        # (object.__setattr__: a validated assignment would run this validator again, forever)
        object.__setattr__(self, "name", (self.name or "embedded-rain") if self.layout == "embedded" else None)
        if self.layout != "folders":
            for key in ("lq_dir", "gt_dir", "pattern"):
                object.__setattr__(self, key, None)
        return self


# Layouts whose files depend on `split` (the others read `root` as the split's folder).
SPLIT_LAYOUTS = ("embedded", "gopro", "raincityscapes", "restormer")
_SPLIT_FOLDERS = {"train", "training", "test", "testing", "val", "valid", "validation"}


def dataset_label(ds: DatasetConfig) -> str:
    """What reports and `samdistill compare` call a dataset: `rain200:Rain200L/test`,
    `embedded:embedded-rain/test`, `folders:my_pairs`. The root's folder name, with its parent when
    the folder is only a split's name; `/split` only for layouts that read one."""
    if ds.layout == "embedded":
        where = str(ds.name)
    else:
        root = Path(str(ds.root)).expanduser()
        where = f"{root.parent.name}/{root.name}" if root.name.lower() in _SPLIT_FOLDERS and root.parent.name else root.name
    split = f"/{ds.split}" if ds.layout in SPLIT_LAYOUTS else ""
    return f"{ds.layout}:{where}{split}"


class AugmentConfig(StrictModel):
    hflip: bool = True
    vflip: bool = True
    rot90: bool = True


class DataConfig(StrictModel):
    train: DatasetConfig = Field(default_factory=lambda: DatasetConfig(split="train"))
    val: Optional[DatasetConfig] = Field(default_factory=lambda: DatasetConfig(split="test"))
    crop_size: int = Field(64, ge=8, description="random training crop (square), pixels")
    batch_size: int = Field(8, ge=1, description="per-process batch size")
    num_workers: Union[Literal["auto"], NonNegativeInt] = Field(
        "auto", description="DataLoader worker processes; auto: min(8, usable CPUs - 1), 0 on a single CPU "
        "(the data order does not depend on it)")
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    val_limit: Optional[int] = Field(None, ge=1, description="validate on the first N pairs only")

    @model_validator(mode="after")
    def _val_defaults_to_test_split(self) -> "DataConfig":
        # `data.val.name=embedded-rain` alone must not validate on the training split
        if self.val is not None and "split" not in self.val.model_fields_set:
            self.val.split = "test"
        return self
    repeat: Optional[int] = Field(
        None, ge=1,
        description="train: the training set is visited this many times per epoch (default: enough "
        "copies for at least 1000 items per epoch, so small sets do not make tiny epochs)",
    )
