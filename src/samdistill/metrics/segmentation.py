"""Semantic-segmentation metrics from one confusion matrix accumulated over a whole dataset.

``matrix[t, p]`` counts pixels of ground-truth class ``t`` predicted as ``p``; pixels whose target
is ``ignore_index`` are left out. As in the Cityscapes script and mmseg, a class whose union
(ground truth + prediction) is empty has IoU NaN and is excluded from the mean (``nanmean``); a
class predicted but absent from the ground truth has IoU 0 and counts.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class SegScores:
    iou: np.ndarray         # (C,) per-class IoU = TP / (TP + FP + FN), NaN when the union is 0
    miou: float             # nanmean of iou
    pixel_acc: float        # sum(TP) / all counted pixels
    class_acc: np.ndarray   # (C,) per-class accuracy (recall) = TP / (TP + FN), NaN when the class is absent
    mean_class_acc: float   # nanmean of class_acc
    dice: np.ndarray        # (C,) per-class Dice = 2 TP / (2 TP + FP + FN), NaN when the union is 0
    mean_dice: float        # nanmean of dice

    def as_dict(self, class_names: Optional[Sequence[str]] = None) -> dict:
        """JSON-ready: floats, NaN -> None, per-class values keyed by ``class_names`` (or the index)."""
        names = list(class_names) if class_names is not None else [str(i) for i in range(len(self.iou))]
        if len(names) != len(self.iou):
            raise ValueError(f"{len(names)} class names for {len(self.iou)} classes")

        def num(x: float) -> Optional[float]:
            return None if np.isnan(x) else float(x)

        return {
            "mIoU": num(self.miou), "pixel_acc": num(self.pixel_acc), "mean_class_acc": num(self.mean_class_acc),
            "mean_dice": num(self.mean_dice),
            "per_class": {n: {"iou": num(i), "acc": num(a), "dice": num(d)}
                          for n, i, a, d in zip(names, self.iou, self.class_acc, self.dice)},
        }


class ConfusionMatrix:
    """``update(pred, target)`` over batches (numpy or torch, any matching shapes of integer class
    ids), then ``compute()``. ``merge`` adds another matrix (e.g. gathered from other processes)."""

    def __init__(self, num_classes: int, ignore_index: Optional[int] = 255):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def reset(self) -> None:
        self.matrix[:] = 0

    def update(self, pred: Array, target: Array) -> "ConfusionMatrix":
        if isinstance(pred, torch.Tensor) or isinstance(target, torch.Tensor):
            self.matrix += self._counts_torch(pred, target)
        else:
            self.matrix += self._counts_numpy(np.asarray(pred), np.asarray(target))
        return self

    def merge(self, other: Union["ConfusionMatrix", Array]) -> "ConfusionMatrix":
        """Add another confusion matrix (same classes) into this one."""
        if isinstance(other, ConfusionMatrix):
            if other.num_classes != self.num_classes or other.ignore_index != self.ignore_index:
                raise ValueError(f"cannot merge a {other.num_classes}-class matrix (ignore {other.ignore_index}) "
                                 f"into a {self.num_classes}-class one (ignore {self.ignore_index})")
            other = other.matrix
        counts = other.detach().cpu().numpy() if isinstance(other, torch.Tensor) else np.asarray(other)
        if counts.shape != self.matrix.shape:
            raise ValueError(f"cannot merge a matrix of shape {counts.shape} into {self.matrix.shape}")
        self.matrix += counts.astype(np.int64)
        return self

    def compute(self) -> SegScores:
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        gt, predicted = m.sum(axis=1), m.sum(axis=0)
        union = gt + predicted - tp
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN
            iou = np.where(union > 0, tp / union, np.nan)
            class_acc = np.where(gt > 0, tp / gt, np.nan)
            dice = np.where(union > 0, 2 * tp / (gt + predicted), np.nan)
            total = m.sum()
            return SegScores(
                iou=iou, miou=float(np.nanmean(iou)),
                pixel_acc=float(tp.sum() / total) if total else float("nan"),
                class_acc=class_acc, mean_class_acc=float(np.nanmean(class_acc)),
                dice=dice, mean_dice=float(np.nanmean(dice)),
            )

    # --- counting ---------------------------------------------------------------------------

    def _check(self, pred_shape, target_shape, pred_float: bool, target_float: bool) -> None:
        if tuple(pred_shape) != tuple(target_shape):
            raise ValueError(f"pred shape {tuple(pred_shape)} differs from target shape {tuple(target_shape)} "
                             "(pass class ids, e.g. logits.argmax(1), not scores)")
        if pred_float or target_float:
            raise TypeError("pred and target must hold integer class ids, not floats")

    def _range_error(self, what: str, values) -> ValueError:
        return ValueError(f"{what} holds ids outside 0..{self.num_classes - 1}"
                          f"{'' if self.ignore_index is None else f' (ignore {self.ignore_index})'}: {sorted(values)[:10]}")

    def _counts_numpy(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        self._check(pred.shape, target.shape, not np.issubdtype(pred.dtype, np.integer),
                    not np.issubdtype(target.dtype, np.integer))
        pred, target = pred.astype(np.int64).ravel(), target.astype(np.int64).ravel()  # int64: no overflow below
        keep = target != self.ignore_index if self.ignore_index is not None else np.ones_like(target, bool)
        pred, target = pred[keep], target[keep]
        n = self.num_classes
        for what, ids in (("target", target), ("pred", pred)):
            bad = (ids < 0) | (ids >= n)
            if bad.any():
                raise self._range_error(what, np.unique(ids[bad]).tolist())
        return np.bincount(n * target + pred, minlength=n * n).reshape(n, n)

    def _counts_torch(self, pred: Array, target: Array) -> np.ndarray:
        device = pred.device if isinstance(pred, torch.Tensor) else target.device
        pred, target = torch.as_tensor(pred, device=device), torch.as_tensor(target, device=device)
        self._check(pred.shape, target.shape, pred.is_floating_point(), target.is_floating_point())
        pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
        if self.ignore_index is not None:
            keep = target != self.ignore_index
            pred, target = pred[keep], target[keep]
        n = self.num_classes
        for what, ids in (("target", target), ("pred", pred)):
            bad = (ids < 0) | (ids >= n)
            if bool(bad.any()):
                raise self._range_error(what, torch.unique(ids[bad]).tolist())
        counts = torch.bincount(n * target + pred, minlength=n * n)
        return counts.reshape(n, n).cpu().numpy()


def confusion_matrix(pred: Array, target: Array, num_classes: int, ignore_index: Optional[int] = 255) -> np.ndarray:
    """One-shot ``(C, C)`` confusion matrix, rows = target, columns = prediction."""
    return ConfusionMatrix(num_classes, ignore_index).update(pred, target).matrix.copy()
