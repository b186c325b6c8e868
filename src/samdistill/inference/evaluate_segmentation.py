"""Score a segmentation network on a labeled dataset: one confusion matrix over the whole set.

Protocols (`classes`):
- 19: the Cityscapes train ids, predictions and labels as they are;
- 13: the CS13 -> DP13 protocol. Labels are merged by the dataset (`classes: 13`); a 19-class
  network's predictions are merged with the same table (`labels.cs13_lut()`: person+rider -> person,
  car+truck+bus+motorcycle+bicycle -> car, train -> ignore). A pixel predicted as an ignored class
  (train) on a labeled pixel is a miss: it counts for its ground-truth class (a false negative,
  no false positive anywhere) and in the pixel-accuracy denominator; the report lists these pixels
  per class under "predicted_ignored". A 13-class network is scored as it is.

Scores (`metrics.segmentation`): per-class IoU, accuracy and Dice; mIoU, mean class accuracy and
mean Dice as nanmeans over the classes present (union non-empty), and pixel accuracy.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch.nn as nn
from tqdm import tqdm

from samdistill.core.errors import DataError
from samdistill.data.segmentation import labels as cs
from samdistill.inference.segment import Sliding, describe_sliding, num_classes_of, segment_image
from samdistill.metrics.segmentation import ConfusionMatrix, SegScores

PROTOCOLS = {19: "Cityscapes 19 classes", 13: "CS13->DP13 13 classes"}


def prediction_map(network_classes: int, classes: int) -> Optional[np.ndarray]:
    """The lookup table applied to the network's class ids for the `classes` protocol (None: as is)."""
    if classes not in PROTOCOLS:
        raise DataError(f"classes must be 19 or 13, got {classes}")
    if network_classes == classes:
        return None
    if network_classes == cs.NUM_CLASSES and classes == len(cs.CS13_NAMES):
        return cs.cs13_lut()
    raise DataError(f"a {network_classes}-class network cannot be scored under the {classes}-class protocol "
                    f"(19-class networks: 19 or 13; 13-class networks: 13)")


class ProtocolMatrix:
    """A `ConfusionMatrix` plus, per ground-truth class, the pixels predicted as an ignored class."""

    def __init__(self, num_classes: int, ignore_index: int = cs.IGNORE_INDEX):
        self.cm = ConfusionMatrix(num_classes, ignore_index)
        self.predicted_ignored = np.zeros(num_classes, np.int64)

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(f"prediction {pred.shape} and label {target.shape} differ in size")
        void = (pred == self.cm.ignore_index) & (target != self.cm.ignore_index)
        if void.any():
            self.predicted_ignored += np.bincount(target[void].astype(np.int64), minlength=self.cm.num_classes)
        keep = pred != self.cm.ignore_index
        self.cm.update(pred[keep], target[keep])

    def compute(self) -> SegScores:
        if not self.predicted_ignored.any():
            return self.cm.compute()
        # One extra "ignored" prediction column: counts in ground-truth totals (FN), never as a class.
        n = self.cm.num_classes
        ext = ConfusionMatrix(n + 1, self.cm.ignore_index)
        matrix = np.zeros((n + 1, n + 1), np.int64)
        matrix[:n, :n] = self.cm.matrix
        matrix[:n, n] = self.predicted_ignored
        ext.merge(matrix)
        s = ext.compute()
        iou, acc, dice = s.iou[:n], s.class_acc[:n], s.dice[:n]
        return SegScores(iou=iou, miou=_nanmean(iou), pixel_acc=s.pixel_acc, class_acc=acc,
                         mean_class_acc=_nanmean(acc), dice=dice, mean_dice=_nanmean(dice))


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def evaluate_segmenter(net: nn.Module, dataset: Any, classes: Optional[int] = None, sliding: Sliding = None,
                       wrap: bool = True, batch_size: int = 4, progress: bool = True) -> dict:
    """Score `net` on a labeled `SegmentationDataset` whose labels are in the `classes` protocol.

    `classes` defaults to the dataset's. Unlabeled samples are skipped (counted in the report);
    a dataset without any label raises DataError. Returns the JSON-ready report: {"protocol",
    "classes", "network_classes", "inference", "images", "unlabeled_skipped", "mIoU", "pixel_acc",
    "mean_class_acc", "mean_dice", "per_class": {name: {"iou", "acc", "dice"}}, "confusion_matrix"
    (rows: ground truth, columns: prediction), "predicted_ignored" (per class, 13 from 19 only)}.
    """
    from samdistill.data.segmentation.dataset import class_names

    classes = int(classes if classes is not None else dataset.num_classes)
    if int(dataset.num_classes) != classes:
        raise DataError(f"the dataset's labels use {dataset.num_classes} classes, the protocol {classes}")
    network_classes = num_classes_of(net)
    lut = prediction_map(network_classes, classes)
    matrix = ProtocolMatrix(classes)
    scored, unlabeled = 0, 0
    for i in tqdm(range(len(dataset)), desc="eval", unit="img", disable=not progress):
        image, label = dataset.read_sample(i)
        if label is None:
            unlabeled += 1
            continue
        sample = dataset.samples[i]
        try:
            pred = segment_image(net, image, sliding, wrap, batch_size)
        except ValueError as err:  # e.g. a panorama narrower than one window
            raise DataError(f"{sample.image}: {err}") from None
        if lut is not None:
            pred = lut[pred]
        matrix.update(pred, label)
        scored += 1
    if not scored:
        raise DataError(f"no labeled images to score ({unlabeled} unlabeled); evaluation needs labels "
                        "(DensePASS: split val)")
    scores = matrix.compute()
    report = {
        "protocol": PROTOCOLS[classes] + (" (19-class predictions mapped with cs13_lut)" if lut is not None else ""),
        "classes": classes,
        "network_classes": network_classes,
        "inference": describe_sliding(sliding, wrap),
        "images": scored,
        "unlabeled_skipped": unlabeled,
        **scores.as_dict(class_names(classes)),
        "confusion_matrix": matrix.cm.matrix.tolist(),
    }
    if lut is not None:
        report["predicted_ignored"] = dict(zip(class_names(classes), matrix.predicted_ignored.tolist()))
    return report


def write_report_json(report: dict, path: Union[str, Path]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, allow_nan=False), encoding="utf-8")
    return path


def percent(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"
