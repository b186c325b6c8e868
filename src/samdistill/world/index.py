"""`world_index.npz`: which segment / part maps belong to which rendered image.

Written beside the images by every street-world build (and by the street restoration benchmarks).
The ideal segmenter finds an image by the sha256 of its 8-bit pixels, or, for an image that is a
degraded or restored version of one (rain, noise, blur, IR1's output), by the correlation of a
small thumbnail with the thumbnails of the indexed images of the same size.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

INDEX_NAME = "world_index.npz"
THUMB_ROWS = 16


def pixel_sha(pixels: np.ndarray) -> str:
    """sha256 of `(H, W, 3)` uint8 pixels and their shape."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    return hashlib.sha256(f"{pixels.shape}|".encode() + pixels.tobytes()).hexdigest()


def thumbnail(pixels: np.ndarray) -> np.ndarray:
    """Box-filtered `THUMB_ROWS x (THUMB_ROWS * W / H)` thumbnail as one zero-mean, unit-norm vector,
    so a dot product of two thumbnails is their correlation (insensitive to brightness and contrast)."""
    h, w = pixels.shape[:2]
    cols = max(1, round(THUMB_ROWS * w / h))
    small = np.asarray(Image.fromarray(np.ascontiguousarray(pixels, np.uint8)).resize((cols, THUMB_ROWS), Image.Resampling.BOX),
                       np.float64).reshape(-1)
    small -= small.mean()
    return (small / max(np.linalg.norm(small), 1e-9)).astype(np.float32)


def write_index(root: Path, rows: list[tuple[str, str, str, np.ndarray]]) -> Path:
    """rows: (image path, segment map path, part map path, uint8 pixels), paths relative to `root`."""
    shapes = np.array([r[3].shape[:2] for r in rows], np.int64).reshape(-1, 2)
    thumbs = [thumbnail(r[3]) for r in rows]
    width = max((len(t) for t in thumbs), default=0)
    padded = np.zeros((len(rows), width), np.float32)
    for i, t in enumerate(thumbs):
        padded[i, :len(t)] = t
    path = Path(root) / INDEX_NAME
    with open(path, "wb") as handle:  # np.savez on a handle: no zip timestamps from the file system
        np.savez(handle, images=np.array([r[0] for r in rows], dtype=str), segments=np.array([r[1] for r in rows], dtype=str),
                 parts=np.array([r[2] for r in rows], dtype=str), sha=np.array([pixel_sha(r[3]) for r in rows], dtype=str),
                 shapes=shapes, thumbs=padded)
    return path


def read_index(root: Path) -> dict[str, np.ndarray]:
    with np.load(Path(root) / INDEX_NAME, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
