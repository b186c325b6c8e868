"""Segmentation samples get restoration's decode check (issue 23): with `full_decode` every image
and label is decoded once, in parallel, cached per root and split; a truncated file (which its
header does not show) is named before training, not at the step that reads it."""
import logging

import pytest

import samdistill.data.decode_check as dc
from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.layouts import SampleError, resolve_samples


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # past the header: only a full decode notices
    return path


@pytest.fixture
def pano_root(tmp_path, write_rgb, write_label):
    """DensePASS layout: 3 labeled val panoramas, 2 unlabeled train ones (noisy labels: a truncated
    file must still hold pixels it lacks)."""
    import numpy as np

    root = tmp_path / "pano"
    ids = np.random.default_rng(0).integers(0, 19, (24, 64))
    for n in range(3):
        write_rgb(root / "leftImg8bit" / "val" / f"{n}_.png", size=(64, 24), seed=n)
        write_label(root / "gtFine" / "val" / f"{n}_labelTrainIds.png", ids)
    for n in range(2):
        write_rgb(root / "leftImg8bit" / "train" / f"{n}.png", size=(64, 24), seed=10 + n)
    return root


def cfg(root, **kw):
    return SegDatasetConfig(layout="densepass", root=str(root), cache_dir=str(root.parent / "cache"), **kw)


def test_truncated_image_and_label_pass_the_header_check_but_not_the_decode_check(pano_root):
    image = truncate(pano_root / "leftImg8bit" / "val" / "1_.png")
    label = truncate(pano_root / "gtFine" / "val" / "2_labelTrainIds.png")
    assert len(resolve_samples(cfg(pano_root, split="val"))) == 3  # headers are intact
    with pytest.raises(SampleError) as err:
        resolve_samples(cfg(pano_root, split="val"), full_decode=True)
    assert [p.split(": cannot read image")[0] for p in err.value.problems] == [f"unreadable: {image}",
                                                                                 f"unreadable: {label}"]


def test_skip_leaves_the_damaged_sample_out_with_a_line(pano_root, caplog):
    image = truncate(pano_root / "leftImg8bit" / "train" / "0.png")
    with caplog.at_level(logging.WARNING):
        samples = resolve_samples(cfg(pano_root, split="train", on_bad="skip"), full_decode=True)
    assert [s.name for s in samples] == ["1"]
    assert str(image) in caplog.text


def test_checks_are_cached_per_split_of_one_root(pano_root, monkeypatch):
    for split in ("val", "train"):
        resolve_samples(cfg(pano_root, split=split), full_decode=True)
    caches = sorted((pano_root.parent / "cache" / "decode-check").glob("*.json"))
    assert len(caches) == 2  # one root, two file sets: neither check drops the other's entries
    decoded = []
    real_read = dc.read_image
    monkeypatch.setattr(dc, "read_image", lambda p: decoded.append(p) or real_read(p))
    for split in ("val", "train"):
        resolve_samples(cfg(pano_root, split=split), full_decode=True)
    assert decoded == []
