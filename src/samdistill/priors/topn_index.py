"""A derived side-car next to a cache entry: its top-N masks as packed bits, for fast reads.

The SA-1B JSON stays the record. Reading it means parsing and validating every annotation;
training only needs the N largest masks, every epoch. After one full, validated read the
provider's N masks (and scores) are written to `<entry>.top<N>.bits` together with the sha256 of
the JSON bytes they came from. A later read hashes the JSON (cheap), checks the side-car against
it and unpacks the bits; any mismatch - a rewritten, truncated or foreign file - means the
side-car is ignored and rebuilt from the validated JSON.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np

from samdistill.core.atomic import atomic_write_bytes
from samdistill.priors.maskset import MaskSet

MAGIC = b"SDTOPN2 "  # 2: the body carries its own sha256 (a flipped bit is refused, not served)


def sidecar_path(entry: Path, top: int) -> Path:
    return entry.with_name(f"{entry.stem}.top{top}.bits")


def read_topn(entry: Path, entry_bytes: bytes, top: int) -> Optional[MaskSet]:
    """The top-N MaskSet if a side-car for exactly these JSON bytes exists, else None."""
    try:
        raw = sidecar_path(entry, top).read_bytes()
    except FileNotFoundError:
        return None
    try:
        head, body = raw[len(MAGIC):].split(b"\n", 1)
        meta = json.loads(head)
        if not raw.startswith(MAGIC) or meta["sha256"] != hashlib.sha256(entry_bytes).hexdigest():
            return None
        n, h, w = int(meta["n"]), int(meta["height"]), int(meta["width"])
        if len(body) != (n * h * w + 7) // 8 or len(meta["iou"]) != n or len(meta["stability"]) != n:
            return None
        if meta["body_sha256"] != hashlib.sha256(body).hexdigest():
            return None
        masks = np.unpackbits(np.frombuffer(body, np.uint8), count=n * h * w).reshape(n, h, w).view(bool)
        nan = float("nan")
        iou = np.array([nan if v is None else v for v in meta["iou"]], np.float32)
        stab = np.array([nan if v is None else v for v in meta["stability"]], np.float32)
        class_id = np.asarray(meta.get("class_id", [-1] * n), np.int64)
        class_score = np.array([nan if v is None else v for v in meta.get("class_score", [None] * n)], np.float32)
        return MaskSet(masks, iou, stab, class_id, class_score)
    except (ValueError, KeyError, TypeError):
        return None


def write_topn(entry: Path, entry_bytes: bytes, top: int, maskset: MaskSet) -> None:
    """Best effort: a failure to write only costs speed, never correctness."""
    def score(v: float) -> Optional[float]:
        return None if np.isnan(v) else float(v)

    h, w = maskset.size
    body = np.packbits(maskset.masks.reshape(-1)).tobytes()
    meta = {"sha256": hashlib.sha256(entry_bytes).hexdigest(), "body_sha256": hashlib.sha256(body).hexdigest(),
            "n": len(maskset), "height": h, "width": w,
            "iou": [score(v) for v in maskset.predicted_iou], "stability": [score(v) for v in maskset.stability_score]}
    if maskset.has_classes:  # SAM 3: the masks' classes travel with them
        meta["class_id"] = [int(v) for v in maskset.class_id]
        meta["class_score"] = [score(v) for v in maskset.class_score]
    data = MAGIC + json.dumps(meta).encode() + b"\n" + body
    path = sidecar_path(entry, top)
    with contextlib.suppress(OSError):
        atomic_write_bytes(path, data)
