"""The semantic-segmentation dataset: images with train-id labels (255 = ignore), or unlabeled images.

Labels are single-channel PNGs (8- or 16-bit; palette PNGs count by their indices, the palette is
only for viewing). ``trainIds`` labels must hold 0..18 or 255; ``labelIds`` labels (Cityscapes
0..33) are mapped to train ids by the official table, everything not evaluated to 255. With
``classes: 13`` the 19 train ids are then merged by the CS13 protocol.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from samdistill.core.errors import DataError, ImageReadError
from samdistill.data.io import image_size, read_image, to_tensor
from samdistill.data.segmentation import labels as cs
from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.layouts import SegSample, resolve_samples

_PIL_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, struct.error, EOFError)
_VALID_IDS = {"trainIds": (*range(cs.NUM_CLASSES), cs.IGNORE_INDEX), "labelIds": tuple(range(cs.MAX_LABEL_ID + 1))}
_VALID_TEXT = {"trainIds": f"train ids 0..{cs.NUM_CLASSES - 1} or {cs.IGNORE_INDEX} (ignore)",
               "labelIds": f"Cityscapes label ids 0..{cs.MAX_LABEL_ID}"}


class LabelError(DataError):
    """A label file whose content is wrong (ids, channels, size); the message names the file."""

    def __init__(self, path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: bad label: {reason}")


def read_label(path: Union[str, Path], kind: str = "trainIds") -> np.ndarray:
    """``np.uint8 (H, W)`` train ids (255 = ignore) from a ``trainIds`` or ``labelIds`` label file."""
    path = Path(path)
    if kind not in _VALID_IDS:
        raise DataError(f"unknown label kind {kind!r}; expected one of {sorted(_VALID_IDS)}")
    raw = _decode(path)
    if raw.size and raw.min() < 0:
        raise LabelError(path, f"negative ids (min {raw.min()}); expected {_VALID_TEXT[kind]}")
    counts = np.bincount(raw.ravel(), minlength=256)
    valid = np.zeros(counts.size, bool)
    valid[list(_VALID_IDS[kind])] = True
    bad = np.flatnonzero((counts > 0) & ~valid)
    if bad.size:
        hint = "; set labels: labelIds if these are Cityscapes *_labelIds files" if kind == "trainIds" else ""
        shown = ", ".join(map(str, bad[:10])) + (", ..." if bad.size > 10 else "")
        raise LabelError(path, f"ids [{shown}] ({int(counts[bad].sum())} pixels) are not {_VALID_TEXT[kind]}{hint}")
    ids = raw.astype(np.uint8)
    return cs.label_id_to_train_id_lut()[ids] if kind == "labelIds" else ids


def to_classes(train_ids: np.ndarray, classes: int) -> np.ndarray:
    """19-class train ids -> the ``classes`` protocol (19: unchanged, 13: CS13 mapping)."""
    if classes == cs.NUM_CLASSES:
        return train_ids
    if classes == len(cs.CS13_NAMES):
        return cs.cs13_lut()[train_ids]
    raise DataError(f"classes must be 19 or 13, got {classes}")


def class_names(classes: int) -> tuple[str, ...]:
    return cs.CLASS_NAMES if classes == cs.NUM_CLASSES else cs.CS13_NAMES


class SegmentationDataset(Dataset):
    """Items: ``{"image": float (3,H,W) in [0,1], "label": int64 (H,W), "labeled": bool, "name": str,
    "index": int}``. Unlabeled samples get an all-255 label and ``labeled=False``.

    ``crop`` (an int or ``(height, width)``) takes a random crop, ``hflip`` a random horizontal
    flip, identical for image and label. Item ``i``'s randomness comes from
    ``np.random.default_rng([seed, epoch, i])``: reproducible, independent of the worker count.
    """

    def __init__(self, cfg: SegDatasetConfig, crop: Union[int, tuple[int, int], None] = None, hflip: bool = False,
                 seed: int = 0, samples: Optional[list[SegSample]] = None):
        self.cfg = cfg
        self.samples: list[SegSample] = list(samples) if samples is not None else resolve_samples(cfg)
        self.crop = _crop_size(crop)
        self.hflip = hflip
        self.seed = seed
        self.epoch = 0
        self.num_classes = cfg.classes
        self.class_names = class_names(cfg.classes)

    def set_epoch(self, epoch: int) -> None:
        """Change the random crops/flips for a new epoch (call before iterating)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def read_sample(self, index: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Full-resolution (image float (H,W,3), label uint8 (H,W) in the config's classes, or None)."""
        sample = self.samples[index]
        image = read_image(sample.image)
        if sample.label is None:
            return image, None
        label = read_label(sample.label, sample.label_kind)
        if label.shape != image.shape[:2]:
            raise LabelError(sample.label, f"size {label.shape[1]}x{label.shape[0]} differs from its image "
                             f"{sample.image} ({image.shape[1]}x{image.shape[0]}, WxH)")
        return image, to_classes(label, self.num_classes)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} out of range for {len(self)} items")
        sample = self.samples[index]
        image, label = self.read_sample(index)
        labeled = label is not None
        if label is None:
            label = np.full(image.shape[:2], cs.IGNORE_INDEX, np.uint8)
        if self.crop is not None or self.hflip:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, label = self._transform(rng, sample, image, label)
        return {
            "image": to_tensor(image),
            "label": torch.from_numpy(label.astype(np.int64)),
            "labeled": labeled,
            "name": sample.name,
            "index": index,
        }

    def check_labels(self) -> list[str]:
        """Decode every label (slow: all pixels) and return one line per problem, empty when all are fine."""
        problems = []
        for sample in self.samples:
            if sample.label is None:
                continue
            try:
                label = read_label(sample.label, sample.label_kind)
                width, height = image_size(sample.image)
            except DataError as err:
                problems.append(str(err))
                continue
            if label.shape != (height, width):
                problems.append(f"{sample.label}: bad label: size {label.shape[1]}x{label.shape[0]} differs from "
                                f"its image {sample.image} ({width}x{height}, WxH)")
        return problems

    def _transform(self, rng: np.random.Generator, sample: SegSample, image: np.ndarray, label: np.ndarray):
        h, w = label.shape
        top = left = 0
        if self.crop is not None:
            ch, cw = self.crop
            if h < ch or w < cw:
                raise DataError(f"{sample.image}: image is {w}x{h} (WxH), smaller than the crop {cw}x{ch}")
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            image, label = image[top: top + ch, left: left + cw], label[top: top + ch, left: left + cw]
        flip = bool(rng.random() < 0.5)  # always drawn, so the stream does not depend on the flags
        if self.hflip and flip:
            image, label = image[:, ::-1], label[:, ::-1]
        return np.ascontiguousarray(image), np.ascontiguousarray(label)


def _crop_size(crop: Union[int, tuple[int, int], None]) -> Optional[tuple[int, int]]:
    if crop is None:
        return None
    size = (crop, crop) if isinstance(crop, int) else tuple(crop)
    if len(size) != 2 or min(size) < 1:
        raise DataError(f"crop must be a positive int or (height, width), got {crop!r}")
    return int(size[0]), int(size[1])


def _decode(path: Path) -> np.ndarray:
    """Raw single-channel ids as a signed integer array; ImageReadError/LabelError name the file."""
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("L", "P"):  # palette PNG: the indices are the ids
                return np.asarray(im).astype(np.int32)
            if mode.startswith("I;16") or mode == "I":
                return np.asarray(im).astype(np.int64)
    except _PIL_ERRORS as err:
        raise ImageReadError(path, str(err) or type(err).__name__) from err
    raise LabelError(path, f"expected a single-channel 8- or 16-bit image, got mode {mode!r}"
                     + (" (a colour visualisation?)" if mode.startswith("RGB") else ""))
