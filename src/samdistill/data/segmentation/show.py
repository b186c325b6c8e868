"""A picture of a labeled image: image | Cityscapes colors | instance borders, side by side.

`companions(image)` finds an image's label and instance / segment map by the layouts' naming
(Cityscapes `*_leftImg8bit.png` -> `gtFine/.../*_gtFine_labelTrainIds.png` (or `_labelIds`) and
`*_gtFine_instanceIds.png`; DensePASS `val/{n}_.png` -> `gtFine/val/{n}_labelTrainIds.png`; the street
world's `world/.../*_segmentIds.png`, preferred as it splits every object and stuff region).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from samdistill.data.segmentation.labels import colorize

BORDER_COLOR = np.array([255, 255, 255], np.uint8)


def companions(image: Path) -> tuple[Optional[Path], Optional[Path]]:
    """(label, segments) beside `image` in its layout, None where there is none."""
    image = Path(image)
    parts = image.parts
    if "leftImg8bit" not in parts:
        return None, None
    at = len(parts) - 1 - parts[::-1].index("leftImg8bit")
    root, tree = Path(*parts[:at]), Path(*parts[at + 1:-1])
    if image.name.endswith("_leftImg8bit.png"):
        stem = image.name[: -len("_leftImg8bit.png")]
        labels = [root / "gtFine" / tree / f"{stem}_gtFine_{k}.png" for k in ("labelTrainIds", "labelIds")]
        segments = [root / "world" / tree / f"{stem}_segmentIds.png", root / "gtFine" / tree / f"{stem}_gtFine_instanceIds.png"]
    else:
        stem = image.stem.rstrip("_") or image.stem
        labels = [root / "gtFine" / tree / f"{stem}_labelTrainIds.png", root / "gtFine" / tree / f"{stem}__labelTrainIds.png"]
        segments = [root / "world" / tree / f"{stem}_segmentIds.png"]
    return next((p for p in labels if p.is_file()), None), next((p for p in segments if p.is_file()), None)


def borders(ids: np.ndarray, wrap: bool = False) -> np.ndarray:
    """Pixels whose right or lower neighbour has another id (with `wrap`, across the 360 seam too)."""
    edge = np.zeros(ids.shape, bool)
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    edge[:-1, :] |= ids[:-1, :] != ids[1:, :]
    if wrap:
        edge[:, -1] |= ids[:, -1] != ids[:, 0]
    return edge


def render_panel(image: np.ndarray, train_ids: Optional[np.ndarray], segments: Optional[np.ndarray]) -> np.ndarray:
    """`(H, 3W or less, 3)` uint8: the image, its label colors, the image with segment borders."""
    rgb = np.clip(np.rint(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    panels = [rgb]
    if train_ids is not None:
        panels.append(colorize(train_ids))
    outlined = rgb.copy()
    ids = segments if segments is not None else train_ids
    if ids is not None:
        outlined[borders(ids)] = BORDER_COLOR
        panels.append(outlined)
    gap = np.full((rgb.shape[0], 4, 3), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [gap, p]
    return np.concatenate(out, axis=1)


def load_train_ids(path: Path) -> np.ndarray:
    """A label file as train ids: `*_labelIds.png` mapped with the Cityscapes table, else as stored."""
    from samdistill.data.segmentation.dataset import read_label

    return read_label(path, "labelIds" if path.name.endswith("_labelIds.png") else "trainIds")


def load_ids(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im).astype(np.int64)
