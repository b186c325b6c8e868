"""The RainCityscapes layout on a tiny fake tree in its exact file naming."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samdistill.data.config import DatasetConfig
from samdistill.data.errors import DataError, PairingError
from samdistill.data.layouts import find_pairs, resolve_pairs

RAIN = ("alpha_0.01_beta_0.005_dropsize_0.01_pattern_1", "alpha_0.03_beta_0.015_dropsize_0.002_pattern_12")


def _png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def make_tree(root: Path, split: str = "val", label_kind: str = "labelIds") -> list[str]:
    """Two cities, two clean frames each, two rainy versions of each; returns the clean keys."""
    rng = np.random.default_rng(0)
    keys = []
    for city in ("frankfurt", "lindau"):
        for seq in (0, 1):
            key = f"{city}_{seq:06d}_000019"
            keys.append(key)
            clean = rng.integers(0, 256, (16, 32, 3), dtype=np.uint8)
            _png(root / "leftImg8bit" / split / city / f"{key}_leftImg8bit.png", clean)
            label = np.full((16, 32), 7 if label_kind == "labelIds" else 0, np.uint8)  # 7 = road's label id
            label[:, 16:] = 11 if label_kind == "labelIds" else 2                     # 11 = building
            _png(root / "gtFine" / split / city / f"{key}_gtFine_{label_kind}.png", label)
            for rain in RAIN:
                rainy = np.clip(clean.astype(int) + 40, 0, 255).astype(np.uint8)
                _png(root / "leftImg8bit_rain" / split / city / f"{key}_leftImg8bit_rain_{rain}.png", rainy)
    return keys


def test_pairs_every_rainy_version_with_its_clean_image_and_label(tmp_path: Path) -> None:
    keys = make_tree(tmp_path)
    pairs = resolve_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="val"))
    assert len(pairs) == len(keys) * len(RAIN)
    names = [p.name for p in pairs]
    assert names[0] == f"frankfurt_000000_000019_{RAIN[0]}" and len(set(names)) == len(names)
    for pair in pairs:
        key = pair.name.split("_alpha_")[0]
        assert pair.gt.name == f"{key}_leftImg8bit.png" and pair.gt.parent.name == pair.lq.parent.name
        assert pair.label == tmp_path / "gtFine" / "val" / pair.lq.parent.name / f"{key}_gtFine_labelIds.png"
    # the paired dataset config's default validation split "test" reads val
    assert len(find_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="test"))) == len(pairs)


def test_train_ids_labels_are_preferred_and_missing_labels_are_none(tmp_path: Path) -> None:
    make_tree(tmp_path, split="train", label_kind="labelTrainIds")
    pairs = find_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="train"))
    assert all(p.label.name.endswith("_gtFine_labelTrainIds.png") for p in pairs)
    for label in (tmp_path / "gtFine").rglob("*.png"):
        label.unlink()
    assert all(p.label is None for p in find_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="train")))


def test_unmatched_and_misnamed_rainy_files_are_listed(tmp_path: Path) -> None:
    make_tree(tmp_path)
    city = tmp_path / "leftImg8bit_rain" / "val" / "lindau"
    orphan = _png(city / f"lindau_000009_000019_leftImg8bit_rain_{RAIN[0]}.png", np.zeros((16, 32, 3), np.uint8))
    misnamed = _png(city / "lindau_000000_000019_rainy.png", np.zeros((16, 32, 3), np.uint8))
    with pytest.raises(PairingError) as err:
        resolve_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="val"))
    text = str(err.value)
    assert str(orphan) in text and str(misnamed) in text


def test_missing_folders_say_what_the_layout_expects(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"leftImg8bit_rain.*folder not found.*raincityscapes"):
        find_pairs(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="val"))
