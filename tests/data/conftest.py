from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _save(path: Path, size=(16, 16), value=None, seed=0) -> Path:
    """Write a small RGB image (random unless `value`) in the format given by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    if value is None:
        pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    else:
        pixels = np.full((h, w, 3), value, np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def save_image():
    return _save


@pytest.fixture(scope="session")
def embedded_cache(tmp_path_factory) -> Path:
    """One build of embedded-noise shared by the embedded/dataset tests (builds take ~1-2 s)."""
    from samdistill.data.embedded import ensure_embedded

    cache = tmp_path_factory.mktemp("cache")
    ensure_embedded("embedded-noise", cache)
    return cache


class FakePriorProvider:
    """Masks that encode the pixel position, so a wrong transform is visible."""

    def __init__(self, n: int = 3):
        self.n = n
        self.calls = []

    def masks_for_pair(self, index, pair, lq, gt):
        self.calls.append((index, pair.name, lq.shape))
        h, w = lq.shape[:2]
        stack = np.zeros((self.n, h, w), np.float32)
        stack[0, : h // 2] = 1.0
        stack[1, :, : w // 3] = 1.0
        stack[2, h // 4, w // 5] = 1.0
        return stack


@pytest.fixture
def fake_provider():
    return FakePriorProvider()
