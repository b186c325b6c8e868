"""Config of the restoration data: which dataset layout, where, and how it is cropped."""
from __future__ import annotations

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
    name: str = Field("embedded-rain", description="embedded benchmark name (layout=embedded)")
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
        return self


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
