"""Downstream segmentation of restored images (the SAM4IR paper's Table 2): what a semantic
segmenter sees in the restored image, in the degraded input and in the ground truth.

`DownstreamScorer(net)` is handed to `inference.evaluate.evaluate_model`; for every pair it segments
the three images (as saved: quantized to 8 bits), compares each with the pair's label and keeps one
confusion matrix per image and kind. The report's "downstream" section holds, per kind, the
dataset-level scores of the summed matrices (`metrics.segmentation`: IoU per class, mIoU as nanmean
over classes present, pixel accuracy, mean Dice) and the per-image matrices as sparse
[true, predicted, count] triples (`compare` bootstraps over them).

Labels: a pair's label file is found by its dataset layout (`raincityscapes`: gtFine; embedded-street-*:
`{split}/labels/`), or in a folder given with `labels_dir` by the pair's name: `<name>_labelTrainIds.png`,
`<name>_gtFine_labelTrainIds.png`, `<name>.png` (train ids, 255 = ignore) or `<name>_labelIds.png`,
`<name>_gtFine_labelIds.png` (Cityscapes label ids, mapped to train ids). A pair without a label is an
error naming it. The protocol is the network's classes: 19 (Cityscapes) or 13 (CS13, labels merged).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch.nn as nn

from samdistill.core.errors import DataError
from samdistill.data.segmentation.dataset import class_names, read_label, to_classes
from samdistill.inference.segment import Sliding, num_classes_of, segment_image
from samdistill.metrics.segmentation import ConfusionMatrix

KINDS = ("restored", "input", "gt")
_COLUMN_PREFIX = {"restored": "", "input": "input_", "gt": "gt_"}
_LABEL_SUFFIXES = (("_labelTrainIds", "trainIds"), ("_gtFine_labelTrainIds", "trainIds"), ("", "trainIds"),
                   ("_labelIds", "labelIds"), ("_gtFine_labelIds", "labelIds"))


def label_kind(path: Path) -> str:
    """trainIds or labelIds, from a label file's name."""
    return "labelIds" if path.stem.endswith("_labelIds") else "trainIds"


def find_label(labels_dir: Path, name: str) -> Optional[Path]:
    for suffix, _ in _LABEL_SUFFIXES:
        path = labels_dir / f"{name}{suffix}.png"
        if path.is_file():
            return path
    return None


class DownstreamScorer:
    def __init__(self, net: nn.Module, labels_dir: Optional[Union[str, Path]] = None, sliding: Sliding = None,
                 batch_size: int = 4, source: str = ""):
        self.net = net
        self.classes = num_classes_of(net)
        if self.classes not in (19, 13):
            raise DataError(f"{source or 'the segmenter'} predicts {self.classes} classes; downstream scores use the "
                            "19 Cityscapes classes or the 13-class protocol")
        self.labels_dir = Path(labels_dir) if labels_dir is not None else None
        if self.labels_dir is not None and not self.labels_dir.is_dir():
            raise DataError(f"{self.labels_dir}: labels folder not found")
        self.sliding, self.batch_size, self.source = sliding, batch_size, source
        self.totals = {k: ConfusionMatrix(self.classes) for k in KINDS}
        self.per_image: dict[str, dict[str, list]] = {k: {} for k in KINDS}

    def _label(self, name: str, label_path: Optional[str]) -> tuple[np.ndarray, Path]:
        path = Path(label_path) if label_path else None
        if self.labels_dir is not None:
            path = find_label(self.labels_dir, name)
            if path is None:
                tried = ", ".join(f"{name}{s}.png" for s, _ in _LABEL_SUFFIXES)
                raise DataError(f"{name}: no label in {self.labels_dir} (tried {tried})")
        if path is None:
            raise DataError(f"{name}: the dataset gives no label for this image; pass --labels DIR "
                            "(files <name>_labelTrainIds.png) or use a labeled layout (raincityscapes, embedded-street-*; "
                            "an embedded-street-* folder built before labels existed has no {split}/labels/: delete it "
                            "from the cache to rebuild)")
        return to_classes(read_label(path, label_kind(path)), self.classes), path

    def add(self, name: str, images: dict[str, np.ndarray], label_path: Optional[str] = None) -> dict[str, float]:
        """Segment `images` ({"restored", "input", "gt"}: HxWx3 in [0, 1]); returns the per-image columns."""
        label, path = self._label(name, label_path)
        row: dict[str, float] = {}
        for kind in KINDS:
            image = np.round(np.clip(images[kind], 0, 1) * 255) / 255  # as saved
            if image.shape[:2] != label.shape:
                raise DataError(f"{name}: label {path} is {label.shape[1]}x{label.shape[0]} but the image is "
                                f"{image.shape[1]}x{image.shape[0]}")
            try:
                pred = segment_image(self.net, image.astype(np.float32), self.sliding, True, self.batch_size)
            except (ValueError, RuntimeError) as err:  # e.g. an image smaller than the network's strides
                raise DataError(f"{name}: the segmenter failed on this {image.shape[1]}x{image.shape[0]} "
                                f"{kind} image: {err}") from None
            cm = ConfusionMatrix(self.classes).update(pred, label)
            self.totals[kind].merge(cm)
            t, p = np.nonzero(cm.matrix)
            self.per_image[kind][name] = [[int(a), int(b), int(cm.matrix[a, b])] for a, b in zip(t, p)]
            scores = cm.compute()
            row[f"{_COLUMN_PREFIX[kind]}seg_miou"] = scores.miou
            row[f"{_COLUMN_PREFIX[kind]}seg_acc"] = scores.pixel_acc
        if path is not None:
            row["label_path"] = str(path)
        return row

    def section(self) -> dict:
        names = class_names(self.classes)
        out = {"segmenter": self.source, "classes": self.classes,
               "protocol": "Cityscapes 19 classes" if self.classes == 19 else "CS13 13 classes",
               "inference": "whole image" if self.sliding is None else f"sliding {self.sliding[0]}x{self.sliding[1]}"}
        for kind in KINDS:
            out[kind] = self.totals[kind].compute().as_dict(names)
        out["per_image_confusion"] = self.per_image
        return out
