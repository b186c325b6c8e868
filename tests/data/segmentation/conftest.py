from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _rgb(path: Path, size=(8, 6), seed=0) -> Path:
    """Random RGB image of size (width, height), format from the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def _label(path: Path, ids, size=(8, 6), bits: int = 8) -> Path:
    """Single-channel label PNG: ``ids`` is an (H, W) array or one value filling (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = np.full((size[1], size[0]), int(arr))
    Image.fromarray(arr.astype(np.uint16 if bits == 16 else np.uint8)).save(path)
    return path


@pytest.fixture
def write_rgb():
    return _rgb


@pytest.fixture
def write_label():
    return _label
