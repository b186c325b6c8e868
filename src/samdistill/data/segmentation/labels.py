"""The Cityscapes label table, re-exported (the same objects) from `samdistill.core.labels`, its home
below both the segmentation data and the street world that renders in it."""
from __future__ import annotations

from samdistill.core.labels import (  # noqa: F401 (re-exported)
    CLASS_NAMES,
    CS13_MAPPING,
    CS13_NAMES,
    HAS_INSTANCES,
    IGNORE_INDEX,
    LABEL_ID_OF_TRAIN_ID,
    MAX_LABEL_ID,
    NUM_CLASSES,
    TRAIN_CLASSES,
    TRAIN_ID,
    colorize,
    cs13_lut,
    label_id_to_train_id_lut,
    palette,
    train_id_to_label_id,
)
