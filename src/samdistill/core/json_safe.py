"""Results as strict JSON: Python's json writes inf / nan as bare `Infinity` / `NaN`, which
strict readers reject; identical images have PSNR = inf."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from samdistill.core.atomic import atomic_write_text


def json_safe(obj: Any) -> Any:
    """Copy of nested dicts/lists with inf/nan floats as "inf"/"-inf"/"nan" strings (strict JSON)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, obj: Any, indent: int = 2) -> Path:
    """`obj` as strict JSON (`json_safe`), written atomically (`core.atomic`)."""
    return atomic_write_text(path, json.dumps(json_safe(obj), indent=indent, allow_nan=False) + "\n")
