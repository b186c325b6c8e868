"""On-disk mask cache in the SA-1B annotation format, so a segmenter never runs twice on an input.

One JSON file per (image content, segmenter fingerprint):

    <cache_dir>/<fingerprint_hash[:16]>/fingerprint.json          (for humans)
    <cache_dir>/<fingerprint_hash[:16]>/<image_hash[:2]>/<image_hash>.json

    {"image": {"height", "width", "hash"}, "segmenter": <fingerprint>,
     "annotations": [{"segmentation": {"size": [H, W], "counts": "<COCO RLE string>"},
                      "area", "bbox": [x, y, w, h], "predicted_iou", "stability_score"}]}

Scores that are NaN (offline segmenter) are stored as null. A mask with a class (SAM 3) also has
"class_id" (index into the fingerprint's class list) and "class_score"; entries without them
(every class-less segmenter, and every file written before) read as class -1. Entries are written atomically
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
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from pycocotools import mask as coco_mask

from samdistill.core.atomic import atomic_write_text  # also imported from here (sam4ir/refresh.py)
from samdistill.priors.maskset import MaskSet, largest_first
from samdistill.priors.rle_masks import RunLengthMasks, run_positions, runs_to_columns
from samdistill.priors.topn_index import read_topn, write_topn

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
        raw = _read(path)
        if raw is None:
            return None
        if top:  # a validated top-N side-car of exactly these bytes skips parsing and checking
            fast = read_topn(path, raw, top)
            if fast is not None:
                return fast
        maskset = _parsed(path, raw, lambda entry: decode_entry(entry, image_hash, fingerprint, top))
        if maskset is not None and top:
            write_topn(path, raw, top, maskset)
        return maskset

    def get_runs(self, image_hash: str, fingerprint: dict) -> Optional[RunLengthMasks]:
        """The cached masks checked but not decoded, or None when absent or unusable (as `get`)."""
        path = self.path_for(image_hash, fingerprint)
        raw = _read(path)
        return None if raw is None else _parsed(path, raw, lambda e: checked_entry(e, image_hash, fingerprint)[0])

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


def _read(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parsed(path: Path, raw: bytes, parse: Callable[[dict], Any]) -> Any:
    """`parse` of the entry's JSON; None, with a WARNING naming the file and the file removed, when unusable."""
    try:
        return parse(json.loads(raw.decode("utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
        logger.warning("mask cache entry %s is unusable (%s); deleting it and recomputing", path, err)
        path.unlink(missing_ok=True)
        return None


def encode_entry(image_hash: str, fingerprint: dict, maskset: MaskSet) -> dict:
    height, width = maskset.size
    annotations = []
    for i, (rle, area, box) in enumerate(zip(encode_masks(maskset.masks), maskset.area, maskset.bbox)):
        ann = {
            "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
            "area": int(area),
            "bbox": [int(v) for v in box],
            "predicted_iou": _score_out(maskset.predicted_iou[i]),
            "stability_score": _score_out(maskset.stability_score[i]),
        }
        if maskset.class_id[i] >= 0:
            ann["class_id"] = int(maskset.class_id[i])
            ann["class_score"] = _score_out(maskset.class_score[i])
        annotations.append(ann)
    return {"image": {"height": height, "width": width, "hash": image_hash},
            "segmenter": fingerprint, "annotations": annotations}


def decode_entry(entry: dict, image_hash: str, fingerprint: dict, top: Optional[int] = None) -> MaskSet:
    """Check every annotation (all at once, on the RLE runs), then decode all masks in stored
    order, or with `top` only the `top` largest ones, largest first."""
    rle, areas, ious, stability = checked_entry(entry, image_hash, fingerprint)
    order = np.arange(len(rle)) if top is None else largest_first(areas, top)
    masks = runs_to_masks(rle.runs, rle.offsets, order, rle.height, rle.width)
    return MaskSet(masks, ious[order], stability[order], rle.class_id[order], rle.class_score[order])


def checked_entry(entry: dict, image_hash: str, fingerprint: dict
                  ) -> tuple[RunLengthMasks, np.ndarray, np.ndarray, np.ndarray]:
    """An entry's masks, every annotation checked but none decoded, with their areas, predicted IoUs
    and stability scores; CorruptEntry (or KeyError / TypeError ...) names what is wrong."""
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
    counts = _checked_counts([ann["segmentation"] for ann in annotations], height, width)
    areas = np.array([int(ann["area"]) for ann in annotations], np.int64)
    runs, offsets = rle_run_lengths_many(counts, label="annotation")
    _check_runs(runs, offsets, areas, annotations, height, width)
    _check_boxes([{"size": [height, width], "counts": c} for c in counts], annotations)
    ious = _scores([ann["predicted_iou"] for ann in annotations], "predicted_iou")
    stability = _scores([ann["stability_score"] for ann in annotations], "stability_score")
    class_id, class_score = _classes(annotations)
    return RunLengthMasks(runs, offsets, height, width, class_id, class_score), areas, ious, stability


def _classes(annotations: list) -> tuple[np.ndarray, np.ndarray]:
    """Optional per-mask class ids (absent = -1) and class scores (absent / null = NaN)."""
    ids = np.full(len(annotations), -1, np.int64)
    scores = np.full(len(annotations), np.nan, np.float32)
    for i, ann in enumerate(annotations):
        if "class_id" not in ann:
            continue
        cid = ann["class_id"]
        if type(cid) is not int or cid < 0:
            raise CorruptEntry(f"annotation {i}: class_id {cid!r} is not an integer >= 0")
        ids[i] = cid
        scores[i] = _scores([ann.get("class_score")], "class_score")[0]
    return ids, scores


def encode_masks(masks: np.ndarray) -> list[dict]:
    """COCO RLEs of an `(N, H, W)` bool stack (counts as bytes, as pycocotools returns them)."""
    if len(masks) == 0:
        return []
    # pycocotools wants (H, W, N) in Fortran order: the same bytes as (N, W, H) in C order.
    fortran = np.ascontiguousarray(masks.transpose(0, 2, 1)).view(np.uint8).transpose(2, 1, 0)
    return coco_mask.encode(fortran)


def runs_to_masks(runs: np.ndarray, offsets: np.ndarray, chosen: np.ndarray, height: int,
                  width: int) -> np.ndarray:
    """C-contiguous `(len(chosen), H, W)` bool masks of the checked RLEs `chosen` (indices into
    `offsets`, see `rle_run_lengths_many`); runs alternate 0 and 1, column by column."""
    return _transposed(runs_to_columns(runs, offsets, chosen, height, width))


def _transposed(stack: np.ndarray, tile: int = 64) -> np.ndarray:
    """`(N, A, B)` -> C-contiguous `(N, B, A)`, copied tile by tile: both tiles stay in cache,
    which a strided copy of the whole byte array does not (docs/benchmarks.md)."""
    n, a, b = stack.shape
    out = np.empty((n, b, a), stack.dtype)
    view = stack.transpose(0, 2, 1)
    for i in range(0, b, tile):
        for j in range(0, a, tile):
            out[:, i:i + tile, j:j + tile] = view[:, i:i + tile, j:j + tile]
    return out


def _checked_counts(segmentations: list[dict], height: int, width: int) -> list[str]:
    size = [height, width]
    wrong = [i for i, seg in enumerate(segmentations) if seg["size"] != size]
    if wrong:
        raise CorruptEntry(f"annotation {wrong[0]}: RLE size {segmentations[wrong[0]]['size']} "
                           f"is not the image size {size}")
    counts = [seg["counts"] for seg in segmentations]
    not_text = [i for i, c in enumerate(counts) if type(c) is not str]
    if not_text:
        raise CorruptEntry(f"annotation {not_text[0]}: RLE counts is not a string")
    return counts


def _check_runs(runs: np.ndarray, offsets: np.ndarray, areas: np.ndarray, annotations: list[dict],
                height: int, width: int) -> None:
    # pycocotools accepts RLEs whose runs cover fewer pixels than the image: check the runs first.
    # Runs within [0, H*W] make the int64 sums exact (no wrap-around) and equal to pycocotools'.
    out_of_range = np.flatnonzero((runs < 0) | (runs > height * width))
    uncovered = np.flatnonzero(_segment_sums(runs, offsets) != height * width)
    bad = np.concatenate([_owners(offsets, out_of_range), uncovered])
    if len(bad):
        raise CorruptEntry(f"annotation {bad.min()}: RLE runs do not cover the {height}x{width} image")
    ones = np.where(run_positions(offsets) % 2 == 1, runs, 0)
    wrong = np.flatnonzero(_segment_sums(ones, offsets) != areas)
    if len(wrong):
        raise CorruptEntry(f"annotation {wrong[0]}: stored area {annotations[wrong[0]]['area']} "
                           "disagrees with the mask")


def _check_boxes(rles: list[dict], annotations: list[dict]) -> None:
    if not rles:
        return
    found = coco_mask.toBbox(rles)
    # A box that is not 4 values becomes NaNs, which match nothing and so name the annotation.
    boxes = [ann["bbox"] for ann in annotations]
    rows = [b if isinstance(b, list) and len(b) == 4 else [math.nan] * 4 for b in boxes]
    stored = np.array(rows, np.float64)
    if stored.shape != found.shape:
        raise CorruptEntry("stored bboxes are not lists of 4 numbers")
    wrong = np.flatnonzero((stored != found).any(axis=1))
    if len(wrong):
        raise CorruptEntry(f"annotation {wrong[0]}: stored bbox {boxes[wrong[0]]} disagrees with the mask")


def rle_run_lengths(counts: str) -> np.ndarray:
    """Run lengths of one COCO compressed RLE string (pycocotools' rleFrString, vectorized)."""
    return rle_run_lengths_many([counts])[0]


def rle_run_lengths_many(counts: list[str], label: str = "RLE") -> tuple[np.ndarray, np.ndarray]:
    """Run lengths of many COCO compressed RLE strings in one vectorized pass: `(runs, offsets)`,
    string i's runs being `runs[offsets[i]:offsets[i + 1]]`. Errors name `label` and the index."""
    lengths = np.fromiter(map(len, counts), np.int64, len(counts))
    char_starts = np.concatenate([[0], np.cumsum(lengths)])
    joined = "".join(counts)

    def fail(i: int, problem: str = "contain characters outside the COCO alphabet") -> CorruptEntry:
        return CorruptEntry(f"{label} {i}: RLE counts {problem}")

    if not joined.isascii():
        raise fail(next(i for i, c in enumerate(counts) if not c.isascii()))
    if not joined:
        return np.zeros(0, np.int64), np.zeros(len(counts) + 1, np.int64)
    # Each character is a 6-bit chunk (value + 48): 5 value bits, then a continuation bit.
    chunks = np.frombuffer(joined.encode("ascii"), np.uint8) - np.uint8(48)
    outside = np.flatnonzero(chunks > 63)  # (below 48 wrapped around to above 63)
    if len(outside):
        raise fail(_owners(char_starts, outside[:1])[0])
    last = (chunks & 0x20) == 0  # a chunk without the continuation bit ends a number
    unfinished = np.flatnonzero((lengths > 0) & ~last[np.maximum(char_starts[1:] - 1, 0)])
    if len(unfinished):
        raise fail(unfinished[0], "end in the middle of a number")
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    shift = 5 * (np.arange(len(chunks)) - np.repeat(starts, ends - starts + 1))
    too_long = np.flatnonzero(shift > 55)
    if len(too_long):
        raise fail(_owners(char_starts, too_long[:1])[0], "contain an impossibly long number")
    values = np.add.reduceat((chunks & 0x1F).astype(np.int64) << shift, starts)
    negative = (chunks[ends] & 0x10) != 0  # sign bit of the last chunk
    values -= negative * (np.int64(1) << (shift[ends] + 5))
    offsets = np.searchsorted(ends, char_starts)  # strings end on number boundaries
    return _undo_differences(values, offsets), offsets


def _undo_differences(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """From a string's fourth run on, a run is stored as the difference to the run two places
    earlier: cumulative sums along each string's chains of runs 1, 3, 5, ... and 2, 4, 6, ...
    A chain is a stretch of the global even- or odd-index sequence, so two global cumulative sums
    minus their value just before each chain's start do all strings at once (int64 wrap-around
    keeps the sums equal to pycocotools' modular ones)."""
    totals = np.empty_like(values)
    totals[0::2] = np.cumsum(values[0::2])
    totals[1::2] = np.cumsum(values[1::2])
    positions = run_positions(offsets)
    # global index of the chain's first run: the run itself for runs 0, 1, 2; else 1 or 2.
    chain_start = np.arange(len(values)) - positions + np.minimum(positions, 2 - positions % 2)
    return totals - (totals - values)[chain_start]


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    cumulative = np.concatenate([[0], np.cumsum(values)])
    return cumulative[offsets[1:]] - cumulative[offsets[:-1]]


def _owners(offsets: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Which segment (string / annotation) each flat index falls into."""
    return np.searchsorted(offsets, indices, side="right") - 1


_SCORE_TYPES = frozenset({int, float, type(None)})  # JSON numbers and null (bool is no score)


def _scores(values: list, name: str) -> np.ndarray:
    """float32 scores; null (stored for NaN) comes back as NaN."""
    if not set(map(type, values)) <= _SCORE_TYPES:
        i = next(i for i, v in enumerate(values) if type(v) not in _SCORE_TYPES)
        raise CorruptEntry(f"annotation {i}: {name} {values[i]!r} is not a number")
    return np.array(values, np.float64).astype(np.float32)


def _score_out(value: float) -> Optional[float]:
    return None if math.isnan(float(value)) else float(value)
