"""On-disk mask cache in the SA-1B annotation format, so a segmenter never runs twice on an input.

One JSON file per (image content, segmenter fingerprint):

    <cache_dir>/<fingerprint_hash[:16]>/fingerprint.json          (for humans)
    <cache_dir>/<fingerprint_hash[:16]>/<image_hash[:2]>/<image_hash>.json

    {"image": {"height", "width", "hash"}, "segmenter": <fingerprint>,
     "annotations": [{"segmentation": {"size": [H, W], "counts": "<COCO RLE string>"},
                      "area", "bbox": [x, y, w, h], "predicted_iou", "stability_score"}]}

Scores that are NaN (offline segmenter) are stored as null. Entries are written atomically
(temporary file + os.replace), so concurrent DataLoader workers or ranks never see half a file.
Anything wrong with an entry - bad JSON, missing fields, an RLE that does not decode to the image
size, area/box disagreeing with the mask, another fingerprint inside - is logged as a WARNING
naming the file, the file is deleted, and the caller recomputes.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
from pycocotools import mask as coco_mask

from samdistill.priors.maskset import MaskSet

logger = logging.getLogger("samdistill")

DEFAULT_CACHE_DIR = Path("~/.cache/samdistill/masks")


class CorruptEntry(ValueError):
    """A cache file that must not be used; the message says why."""


def image_hash(image: np.ndarray) -> str:
    """sha256 of the pixels (dtype, shape and bytes): identical pixels share a cache entry
    whatever file they came from. Float images are hashed as float32."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32, copy=False)
    image = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{image.dtype.str}|{image.shape}|".encode())
    digest.update(memoryview(image).cast("B"))
    return digest.hexdigest()


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def fingerprint_hash(fingerprint: dict) -> str:
    return hashlib.sha256(canonical_json(fingerprint).encode()).hexdigest()


class MaskCache:
    def __init__(self, cache_dir: str | Path | None = None):
        self.root = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser()

    def path_for(self, image_hash: str, fingerprint: dict) -> Path:
        folder = self.root / fingerprint_hash(fingerprint)[:16]
        return folder / image_hash[:2] / f"{image_hash}.json"

    def get(self, image_hash: str, fingerprint: dict, top: Optional[int] = None) -> Optional[MaskSet]:
        """The cached MaskSet, or None when absent or unusable (then the file is removed).
        `top`: decode only the `top` largest masks (largest first) - what an N-channel stack needs."""
        path = self.path_for(image_hash, fingerprint)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return decode_entry(json.loads(text), image_hash, fingerprint, top)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
            logger.warning("mask cache entry %s is unusable (%s); deleting it and recomputing", path, err)
            path.unlink(missing_ok=True)
            return None

    def has_valid(self, image_hash: str, fingerprint: dict) -> bool:
        """Whether a usable entry exists (fully checked, nothing decoded; a bad one is removed)."""
        return self.get(image_hash, fingerprint, top=0) is not None

    def put(self, image_hash: str, fingerprint: dict, maskset: MaskSet) -> Path:
        path = self.path_for(image_hash, fingerprint)
        self._write_fingerprint(path.parent.parent, fingerprint)
        entry = encode_entry(image_hash, fingerprint, maskset)
        atomic_write_text(path, json.dumps(entry, separators=(",", ":"), allow_nan=False))
        return path

    def _write_fingerprint(self, folder: Path, fingerprint: dict) -> None:
        note = folder / "fingerprint.json"
        if not note.is_file():
            atomic_write_text(note, json.dumps(fingerprint, indent=2, sort_keys=True, default=str))


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a unique temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_entry(image_hash: str, fingerprint: dict, maskset: MaskSet) -> dict:
    height, width = maskset.size
    annotations = []
    for i, (rle, area, box) in enumerate(zip(encode_masks(maskset.masks), maskset.area, maskset.bbox)):
        annotations.append({
            "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
            "area": int(area),
            "bbox": [int(v) for v in box],
            "predicted_iou": _score_out(maskset.predicted_iou[i]),
            "stability_score": _score_out(maskset.stability_score[i]),
        })
    return {"image": {"height": height, "width": width, "hash": image_hash},
            "segmenter": fingerprint, "annotations": annotations}


def decode_entry(entry: dict, image_hash: str, fingerprint: dict, top: Optional[int] = None) -> MaskSet:
    """Check every annotation (on its RLE, without decoding), then decode all masks in stored
    order, or with `top` only the `top` largest ones, largest first."""
    if not isinstance(entry, dict):
        raise CorruptEntry("top level is not an object")
    info = entry["image"]
    height, width = int(info["height"]), int(info["width"])
    if info["hash"] != image_hash:
        raise CorruptEntry("image hash inside the file does not match its name")
    if canonical_json(entry["segmenter"]) != canonical_json(fingerprint):
        raise CorruptEntry("segmenter fingerprint inside the file does not match")
    annotations = entry["annotations"]
    if not isinstance(annotations, list):
        raise CorruptEntry("annotations is not a list")
    rles = [_checked_rle(ann, height, width, i) for i, ann in enumerate(annotations)]
    _check_boxes(rles, annotations)
    areas = np.array([int(ann["area"]) for ann in annotations], np.int64)
    ious = np.array([_score_in(ann["predicted_iou"]) for ann in annotations], np.float32)
    stability = np.array([_score_in(ann["stability_score"]) for ann in annotations], np.float32)
    order = np.arange(len(rles)) if top is None else np.argsort(-areas, kind="stable")[:top]
    masks = decode_masks([rles[i] for i in order], height, width)
    return MaskSet(masks, ious[order], stability[order])


def encode_masks(masks: np.ndarray) -> list[dict]:
    """COCO RLEs of an `(N, H, W)` bool stack (counts as bytes, as pycocotools returns them)."""
    if len(masks) == 0:
        return []
    # pycocotools wants (H, W, N) in Fortran order: the same bytes as (N, W, H) in C order.
    fortran = np.ascontiguousarray(masks.transpose(0, 2, 1)).view(np.uint8).transpose(2, 1, 0)
    return coco_mask.encode(fortran)


def decode_masks(rles: list[dict], height: int, width: int) -> np.ndarray:
    if not rles:
        return np.zeros((0, height, width), bool)
    with warnings.catch_warnings():  # pycocotools' own NumPy 2 deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = coco_mask.decode(rles)  # (H, W, N) uint8 {0, 1}
    return decoded.transpose(2, 0, 1).view(bool)


def _checked_rle(ann: dict, height: int, width: int, i: int) -> dict:
    seg = ann["segmentation"]
    if [int(v) for v in seg["size"]] != [height, width]:
        raise CorruptEntry(f"annotation {i}: RLE size {seg['size']} is not the image size {[height, width]}")
    counts = seg["counts"]
    if not isinstance(counts, str):
        raise CorruptEntry(f"annotation {i}: RLE counts is not a string")
    # pycocotools accepts RLEs whose runs cover fewer pixels than the image: check the runs first.
    runs = rle_run_lengths(counts)
    if (runs < 0).any() or runs.sum() != height * width:
        raise CorruptEntry(f"annotation {i}: RLE runs do not cover the {height}x{width} image")
    if int(runs[1::2].sum()) != int(ann["area"]):
        raise CorruptEntry(f"annotation {i}: stored area {ann['area']} disagrees with the mask")
    return {"size": [height, width], "counts": counts.encode("ascii")}


def _check_boxes(rles: list[dict], annotations: list[dict]) -> None:
    if not rles:
        return
    boxes = coco_mask.toBbox(rles).astype(np.int64)
    for i, (box, ann) in enumerate(zip(boxes, annotations)):
        if [int(v) for v in ann["bbox"]] != box.tolist():
            raise CorruptEntry(f"annotation {i}: stored bbox {ann['bbox']} disagrees with the mask")


def rle_run_lengths(counts: str) -> np.ndarray:
    """Run lengths of a COCO compressed RLE string (pycocotools' rleFrString, vectorized)."""
    if not counts:
        return np.zeros(0, np.int64)
    chars = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    if (chars < 0).any() or (chars > 63).any():
        raise CorruptEntry("RLE counts contain characters outside the COCO alphabet")
    last = (chars & 0x20) == 0  # a chunk without the continuation bit ends a number
    if not last[-1]:
        raise CorruptEntry("RLE counts end in the middle of a number")
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    number_of_chunk = np.repeat(np.arange(len(starts)), ends - starts + 1)
    shift = 5 * (np.arange(len(chars)) - starts[number_of_chunk])
    if shift.max() > 55:
        raise CorruptEntry("RLE counts contain an impossibly long number")
    values = np.add.reduceat((chars & 0x1F) << shift, starts)
    negative = (chars[ends] & 0x10) != 0  # sign bit of the last chunk
    values = values - negative * (np.int64(1) << (shift[ends] + 5))
    # From the fourth run on, a run is stored as the difference to the run two places earlier.
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return runs


def _score_out(value: float) -> Optional[float]:
    return None if math.isnan(float(value)) else float(value)


def _score_in(value: Any) -> float:
    if value is None:
        return math.nan
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CorruptEntry(f"score {value!r} is not a number")
    return float(value)
