"""Config of one semantic-segmentation dataset: which layout, where, how its labels are encoded."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from samdistill.config.base import StrictModel

SegLayout = Literal[
    "cityscapes",  # leftImg8bit/{split}/{city}/*_leftImg8bit.png + gtFine/{split}/{city}/*_gtFine_label(Train)Ids.png
    "densepass",   # leftImg8bit/val/{n}_.png + gtFine/val/{n}_labelTrainIds.png; leftImg8bit/train/{City}/{k}.jpg unlabeled
    "folders",     # generic: image_dir + label_dir matched by stem or regex
]
LabelEncoding = Literal["auto", "trainIds", "labelIds"]


class SegDatasetConfig(StrictModel):
    """One segmentation dataset (images with train-id labels, or unlabeled images)."""

    layout: SegLayout = "cityscapes"
    root: str = Field(..., description="dataset root folder, or embedded-street (pinhole, cityscapes layout) / "
                      "embedded-pano (panoramas, densepass layout), embedded-pano-dev (40 labeled dev panoramas of other scenes, to "
                      "choose settings on): the street world, built on first use")
    cache_dir: Optional[str] = Field(None, description="where the embedded street world is written (default ~/.cache/samdistill)")
    split: Literal["train", "val", "test"] = Field(
        "val", description="cityscapes: train|val|test; densepass: train (unlabeled) or val (= test, labeled)")
    image_dir: Optional[str] = Field(None, description="folders layout: images, relative to root")
    label_dir: Optional[str] = Field(None, description="folders layout: labels, relative to root (none: unlabeled)")
    pattern: Optional[str] = Field(
        None, description="folders layout: regex with one group that extracts the key from an image stem "
        "(default: the whole stem)")
    label_pattern: Optional[str] = Field(
        None, description="folders layout: regex with one group that extracts the key from a label stem "
        "(default: the whole stem); label files it does not match are ignored")
    labels: LabelEncoding = Field(
        "auto", description="label pixel encoding: trainIds (0..18, 255 ignore), labelIds (Cityscapes 0..33, "
        "mapped to train ids), auto (*_labelTrainIds files when present, else *_labelIds; folders: by file name)")
    classes: Literal[19, 13] = Field(
        19, description="19 Cityscapes classes, or the 13-class Cityscapes->DensePASS protocol")
    limit: Optional[int] = Field(None, ge=1, description="use only the first N samples (debugging)")
    on_bad: Literal["error", "skip"] = Field(
        "error", description="unmatched/duplicate/unreadable/size-mismatched samples: stop, or skip and warn")

    @model_validator(mode="after")
    def _check_layout_fields(self) -> "SegDatasetConfig":
        if self.layout == "folders" and not self.image_dir:
            raise ValueError("layout='folders' needs image_dir (and label_dir for labeled data)")
        if self.layout != "folders":
            extra = [k for k in ("image_dir", "label_dir", "pattern", "label_pattern") if getattr(self, k)]
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to layout='folders', not {self.layout!r}")
        return self
