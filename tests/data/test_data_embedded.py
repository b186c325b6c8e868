import json

import numpy as np
import pytest

from samdistill.data import embedded
from samdistill.data.config import DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.io import read_image
from samdistill.data.layouts import resolve_pairs


def test_layout_manifest_and_split_by_photo(embedded_cache):
    folder = embedded_cache / "embedded-noise" / "v1"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["seed"] == embedded.SEED
    assert manifest["degradation"] == {"kind": "noise", "sigma": 25.0}
    test_photos, train_photos = set(manifest["test_photos"]), set(manifest["train_photos"])
    assert len(test_photos) >= 2 and len(train_photos) >= 4 and not test_photos & train_photos
    train_stems = {p.stem for p in (folder / "train/target").glob("*.png")}
    test_stems = {p.stem for p in (folder / "test/target").glob("*.png")}
    assert test_stems == test_photos
    crop_sources = {s.rsplit("_", 2)[0] for s in train_stems}  # "{photo}_{top}_{left}"
    assert crop_sources == train_photos  # every train crop comes from a train photo only
    assert len(train_stems) == manifest["counts"]["train"] and 40 <= len(train_stems) <= 250


def test_images_have_expected_sizes_and_degradation(embedded_cache):
    cfg = DatasetConfig(layout="embedded", name="embedded-noise", split="test", cache_dir=str(embedded_cache))
    pairs = resolve_pairs(cfg)
    lq, gt = read_image(pairs[0].lq), read_image(pairs[0].gt)
    assert lq.shape == gt.shape == (256, 256, 3)
    residual = (lq - gt)[(gt > 0.2) & (gt < 0.8)]  # away from clipping
    assert np.std(residual) == pytest.approx(25 / 255, rel=0.1)
    train = resolve_pairs(cfg.model_copy(update={"split": "train"}))
    assert read_image(train[0].lq).shape == (128, 128, 3)


def test_second_call_reuses_the_build(embedded_cache):
    folder = embedded_cache / "embedded-noise" / "v1"
    before = (folder / "manifest.json").stat().st_mtime_ns
    assert embedded.ensure_embedded("embedded-noise", embedded_cache) == folder
    assert (folder / "manifest.json").stat().st_mtime_ns == before


def test_two_builds_in_different_dirs_are_byte_identical(embedded_cache, tmp_path):
    other = embedded.ensure_embedded("embedded-noise", tmp_path)
    first = embedded_cache / "embedded-noise" / "v1"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (other / rel).read_bytes(), rel
    assert not [p for p in tmp_path.joinpath("embedded-noise").iterdir() if p.name != "v1"]  # no temp left


def test_broken_build_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "TRAIN_PHOTOS", ("camera", "brick", "grass", "coins"))
    monkeypatch.setattr(embedded, "TEST_PHOTOS", ("moon", "gravel"))
    folder = embedded.ensure_embedded("embedded-blur", tmp_path)
    victim = next((folder / "train/input").glob("*.png"))
    victim.unlink()
    assert embedded.ensure_embedded("embedded-blur", tmp_path) == folder
    assert victim.is_file()


def test_too_few_photos_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "photo_sources", lambda: {"camera": tmp_path / "missing.png"})
    with pytest.raises(DataError, match="cannot build embedded-rain: need 2 test and 4 train photos"):
        embedded.ensure_embedded("embedded-rain", tmp_path)
    assert not (tmp_path / "embedded-rain" / "v1").exists()


def test_unknown_name():
    with pytest.raises(DataError, match="embedded-rain, embedded-noise, embedded-blur"):
        embedded.ensure_embedded("embedded-snow")


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SAMDISTILL_CACHE", str(tmp_path))
    assert embedded.embedded_dir("embedded-rain") == tmp_path / "embedded-rain" / "v1"
