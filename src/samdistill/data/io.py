"""Reading and writing images with explicit, documented conversions.

In memory an image is ``np.float32 (H, W, 3)`` in ``[0, 1]``, RGB. ``read_image`` converts:

- grayscale ``L`` / ``1``          -> RGB by replication, ``/ 255``
- 16-bit grayscale ``I;16*``       -> RGB by replication, ``/ 65535``
- 32-bit integer ``I``             -> treated as 16-bit data (how older Pillow opens 16-bit PNGs),
                                      ``/ 65535``; values outside ``[0, 65535]`` are an error
- float ``F``                      -> RGB by replication, clipped to ``[0, 1]``
- ``RGBA`` / ``LA`` / ``PA``       -> the alpha channel is dropped (not composited: restoration
                                      pairs compare colour values, and compositing over any
                                      background would invent pixels)
- palette ``P``                    -> RGB through the palette (transparency dropped)
- CMYK / YCbCr / LAB / HSV         -> RGB via Pillow
- 16-bit TIFF (gray or RGB)        -> read with tifffile at full precision, ``/ 65535``
- 16-bit RGB(A) PNG                -> read with pypng at full precision (Pillow keeps only the
                                      high byte), ``/ 65535``, alpha dropped
EXIF orientation tags are not applied: pixels are used in stored order, identically for LQ and GT.
Multi-frame files (GIF, TIFF) use their first frame.
"""
from __future__ import annotations

import logging
import re
import struct
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from samdistill.core.atomic import atomic_path
from samdistill.core.errors import DataError, ImageReadError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
Box = tuple[int, int, int, int]  # (left, upper, right, lower), Pillow convention
_PIL_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, struct.error, EOFError)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | Path, box: Optional[Box] = None) -> np.ndarray:
    """Read ``path`` as ``np.float32 (H, W, 3)`` in ``[0, 1]``; ``box`` crops (left, upper, right, lower)."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    img = _read_tiff(path) if path.suffix.lower() in (".tif", ".tiff") else None
    if img is None:
        img = _read_with_pillow(path)
    if box is not None:
        img = _crop(path, img, box)
    return np.ascontiguousarray(img, dtype=np.float32)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header only (fast); ImageReadError when it is not an image."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            return im.size
    except _PIL_ERRORS as err:
        raise ImageReadError(path, _reason(err)) from err


def check_image(path: str | Path) -> tuple[int, int]:
    """Fully decode ``path`` (catches truncation the header does not show); returns (width, height)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return im.size
    except _PIL_ERRORS as err:
        raise ImageReadError(path, _reason(err)) from err


def write_image(path: str | Path, img: np.ndarray, overwrite: bool = True, compress_level: int = 6) -> Path:
    """Save an (H, W, 3) or (H, W) image in [0, 1] (or uint8) as 8-bit PNG, atomically.

    Floats are clipped and rounded to uint8, the precision every metric assumes. ``compress_level``
    (zlib 0-9) trades file size for speed; pixels are identical either way.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise DataError(f"{path}: write_image writes PNG only (use a .png name)")
    if not overwrite and path.exists():
        raise DataError(f"{path}: already exists and overwrite=False (refusing to replace it)")
    pixels = to_uint8(img)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG", compress_level=compress_level)
    return path


def to_uint8(img: np.ndarray) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3)):
        raise DataError(f"image must be (H, W, 3) or (H, W), got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    return np.round(np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, C) float image -> (C, H, W) float32 tensor (contiguous copy)."""
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim != 3:
        raise DataError(f"to_tensor expects (H, W, C), got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, 3, H, W) tensor -> (H, W, 3) np.float32 (values not clipped)."""
    t = tensor.detach()
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise DataError(f"to_image takes one image, got a batch of {t.shape[0]}")
        t = t[0]
    if t.ndim != 3:
        raise DataError(f"to_image expects (C, H, W), got shape {tuple(t.shape)}")
    return np.ascontiguousarray(t.float().cpu().numpy().transpose(1, 2, 0))


# --- internals -------------------------------------------------------------------------------


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if "image" in text.lower() or "file" in text.lower() else f"{type(err).__name__}: {text}"


def _crop(path: Path, img: np.ndarray, box: Box) -> np.ndarray:
    left, upper, right, lower = box
    h, w = img.shape[:2]
    if not (0 <= left < right <= w and 0 <= upper < lower <= h):
        raise ImageReadError(path, f"crop box {box} lies outside the {w}x{h} image")
    return img[upper:lower, left:right]


def _read_with_pillow(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            if im.mode in ("RGB", "RGBA") and _is_16bit_color_png(path):
                return _read_png16(path)
            return _pil_to_float(path, im)
    except ImageReadError:
        raise
    except _PIL_ERRORS as err:
        raise ImageReadError(path, _reason(err)) from err


def _read_png16(path: Path) -> np.ndarray:
    """16-bit RGB(A) PNG at full precision: Pillow keeps only the high byte, pypng keeps all 16."""
    import png  # pypng: pure Python, only needed for these files

    try:
        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        planes = info["planes"]
        arr = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(height, width, planes)
    except (png.Error, ValueError, OSError) as err:
        raise ImageReadError(path, f"16-bit PNG: {err}") from err
    return np.ascontiguousarray(arr[..., :3]).astype(np.float32) / 65535.0  # alpha dropped, as for 8-bit


def _pil_to_float(path: Path, im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I;16"):
        return _gray(np.asarray(im).astype(np.float32) / 65535.0)
    if mode == "I":
        raw = np.asarray(im)
        if raw.size and (raw.min() < 0 or raw.max() > 65535):
            raise ImageReadError(path, f"32-bit integer pixels outside 0..65535 (min {raw.min()}, max {raw.max()})")
        return _gray(raw.astype(np.float32) / 65535.0)
    if mode == "F":
        return _gray(np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0))
    if mode in ("L", "1"):
        return _gray(np.asarray(im.convert("L"), dtype=np.float32) / 255.0)
    if mode in ("LA", "La"):
        return _gray(np.asarray(im, dtype=np.float32)[:, :, 0] / 255.0)
    if mode in ("RGBA", "RGBa", "RGBX"):
        return np.asarray(im, dtype=np.float32)[:, :, :3] / 255.0
    # RGB, P / PA (palette), CMYK, YCbCr, LAB, HSV: Pillow's own conversion to RGB.
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _gray(channel: np.ndarray) -> np.ndarray:
    return np.repeat(channel[:, :, None], 3, axis=2)


def _is_16bit_color_png(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(29)
    # PNG signature (8) + IHDR length/type (8) + width, height (8) + bit depth (1) + colour type (1)
    return len(head) >= 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6)


def _read_tiff(path: Path) -> Optional[np.ndarray]:
    """Full-precision TIFF via tifffile; None lets Pillow try (e.g. compressions tifffile lacks)."""
    try:
        import tifffile

        raw = tifffile.imread(path, key=0)
    except Exception:  # noqa: BLE001 - any failure falls back to Pillow, which reports errors
        return None
    return _array_to_float(raw)


def _array_to_float(raw: np.ndarray) -> Optional[np.ndarray]:
    if raw.ndim == 3 and raw.shape[2] in (2, 4):
        raw = raw[:, :, : raw.shape[2] - 1]  # drop alpha
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[:, :, 0]
    if raw.ndim not in (2, 3) or (raw.ndim == 3 and raw.shape[2] != 3):
        return None
    scale = _INT_SCALES.get(raw.dtype.str.lstrip("<>|="))
    if scale is not None:
        img = raw.astype(np.float32) / scale
    elif np.issubdtype(raw.dtype, np.floating):
        img = np.clip(raw.astype(np.float32), 0.0, 1.0)
    else:
        return None
    return _gray(img) if img.ndim == 2 else img


_INT_SCALES = {"u1": 255.0, "u2": 65535.0}


def natural_key(text: str) -> Sequence[object]:
    """Sort key that orders embedded numbers numerically: 'img2' < 'img10'."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()) for tok in re.split(r"(\d+)", text) if tok]
