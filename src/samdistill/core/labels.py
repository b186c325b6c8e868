"""The Cityscapes label table: label ids, the 19 train ids, the palette, and the 13-class protocol.

On the ground floor because every layer speaks it: the street world renders in it, the segmentation
data reads it, SegFormer names its classes with it, inference and GoodSAM score in it
(`data.segmentation.labels` re-exports it).

Facts from the official `cityscapesscripts/helpers/labels.py`: 34 label ids (plus -1 for license
plates), of which 19 are evaluated and carry train ids 0..18; every other label id maps to the
ignore index 255. DensePASS labels are train ids already. The CS13 -> DP13 protocol merges
person+rider and car+truck+bus+motorcycle+bicycle, and ignores train.
"""
from __future__ import annotations

import numpy as np

IGNORE_INDEX = 255

# train id -> (name, label id, RGB color of the official palette)
TRAIN_CLASSES: tuple[tuple[str, int, tuple[int, int, int]], ...] = (
    ("road", 7, (128, 64, 128)),
    ("sidewalk", 8, (244, 35, 232)),
    ("building", 11, (70, 70, 70)),
    ("wall", 12, (102, 102, 156)),
    ("fence", 13, (190, 153, 153)),
    ("pole", 17, (153, 153, 153)),
    ("traffic light", 19, (250, 170, 30)),
    ("traffic sign", 20, (220, 220, 0)),
    ("vegetation", 21, (107, 142, 35)),
    ("terrain", 22, (152, 251, 152)),
    ("sky", 23, (70, 130, 180)),
    ("person", 24, (220, 20, 60)),
    ("rider", 25, (255, 0, 0)),
    ("car", 26, (0, 0, 142)),
    ("truck", 27, (0, 0, 70)),
    ("bus", 28, (0, 60, 100)),
    ("train", 31, (0, 80, 100)),
    ("motorcycle", 32, (0, 0, 230)),
    ("bicycle", 33, (119, 11, 32)),
)
CLASS_NAMES: tuple[str, ...] = tuple(name for name, _, _ in TRAIN_CLASSES)
NUM_CLASSES = len(TRAIN_CLASSES)  # 19
TRAIN_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
LABEL_ID_OF_TRAIN_ID = np.array([label for _, label, _ in TRAIN_CLASSES], np.int64)
# Label ids whose objects are counted as instances in *_instanceIds.png (id = label * 1000 + k).
HAS_INSTANCES = frozenset({24, 25, 26, 27, 28, 29, 30, 31, 32, 33})
MAX_LABEL_ID = 33

# CS13 -> DP13: 19 train ids -> 13 classes (person+rider, car+truck+bus+moto+bicycle, train ignored)
CS13_MAPPING = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 12, 12, 12, IGNORE_INDEX, 12, 12)
CS13_NAMES: tuple[str, ...] = CLASS_NAMES[:11] + ("person", "car")


def palette(num_classes: int = NUM_CLASSES) -> np.ndarray:
    """`(256, 3)` uint8 lookup: train id -> Cityscapes color, black for ignore and unknown ids."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:num_classes] = [color for _, _, color in TRAIN_CLASSES[:num_classes]]
    return lut


def label_id_to_train_id_lut() -> np.ndarray:
    """`(256,)` uint8: Cityscapes label id -> train id (255 for every non-evaluated id)."""
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[LABEL_ID_OF_TRAIN_ID] = np.arange(NUM_CLASSES, dtype=np.uint8)
    return lut


def train_id_to_label_id(train_ids: np.ndarray) -> np.ndarray:
    """Train ids (255 = ignore) -> Cityscapes label ids (ignore -> 0, 'unlabeled')."""
    train_ids = np.asarray(train_ids)
    out = np.zeros(train_ids.shape, np.uint8)
    valid = train_ids < NUM_CLASSES
    out[valid] = LABEL_ID_OF_TRAIN_ID[train_ids[valid]]
    return out


def cs13_lut() -> np.ndarray:
    """`(256,)` uint8: 19-class train id -> 13-class id, 255 stays 255."""
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[:NUM_CLASSES] = CS13_MAPPING
    return lut


def colorize(train_ids: np.ndarray) -> np.ndarray:
    """`(H, W)` train ids -> `(H, W, 3)` uint8 Cityscapes colors (ignore in black)."""
    return palette()[np.asarray(train_ids, np.uint8)]
