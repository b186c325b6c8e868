"""Decode check before training: truncated files are found (headers alone pass them), in
parallel, cached by size+mtime and content hash; `on_bad_pairs` skips or lists them all."""
import logging
import os

import pytest

import samdistill.data.decode_check as dc
from samdistill.data.config import DataConfig, DatasetConfig
from samdistill.data.errors import PairingError
from samdistill.data.io import image_size
from samdistill.data.loader import build_dataloader


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # past the header: only a full decode notices
    return path


@pytest.fixture
def paired_folder(tmp_path, save_image):
    """lq/ and gt/ with 4 pairs; lq/b.png (PNG) and gt/c.jpg (JPEG) truncated after writing."""
    root = tmp_path / "set"
    for i, name in enumerate("abcd"):
        ext = ".jpg" if name == "c" else ".png"
        save_image(root / "lq" / f"{name}{ext}", size=(32, 32), seed=i)
        save_image(root / "gt" / f"{name}{ext}", size=(32, 32), seed=10 + i)
    truncate(root / "lq" / "b.png")
    truncate(root / "gt" / "c.jpg")
    return root


def _cfg(root, **kw):
    return DatasetConfig(layout="folders", root=str(root), lq_dir="lq", gt_dir="gt", **kw)


def test_truncated_png_and_jpeg_pass_the_header_check_but_not_the_decode_check(paired_folder):
    bad = [paired_folder / "lq" / "b.png", paired_folder / "gt" / "c.jpg"]
    assert all(image_size(p) == (32, 32) for p in bad)  # why a header check is not enough
    good = paired_folder / "lq" / "a.png"
    results = dc.decode_check([good, *bad], workers=2, progress=False)
    assert results[good] == (32, 32)
    for path in bad:
        assert isinstance(results[path], str) and results[path].startswith(f"{path}: cannot read image")


def test_second_check_reads_nothing_and_a_touched_file_is_hashed_not_decoded(paired_folder, tmp_path, monkeypatch):
    files = sorted(paired_folder.rglob("*.*"))
    cache = tmp_path / "cache.json"
    first = dc.decode_check(files, cache, progress=False)
    decoded = []
    real_read = dc.read_image
    monkeypatch.setattr(dc, "read_image", lambda p: decoded.append(p) or real_read(p))
    hashed = []
    real_digest = dc._digest
    monkeypatch.setattr(dc, "_digest", lambda p: hashed.append(p) or real_digest(p))

    assert dc.decode_check(files, cache, progress=False) == first
    assert decoded == [] and hashed == []  # unchanged size+mtime: not even opened

    touched = paired_folder / "lq" / "a.png"
    os.utime(touched, ns=(1, 1))
    assert dc.decode_check(files, cache, progress=False) == first
    assert hashed == [touched] and decoded == []  # same bytes: the stored result is reused

    truncate(touched)
    results = dc.decode_check(files, cache, progress=False)
    assert decoded == [touched] and isinstance(results[touched], str)


def test_cache_of_another_decoder_version_is_not_trusted(paired_folder, tmp_path, monkeypatch):
    files = sorted(paired_folder.rglob("*.*"))
    cache = tmp_path / "cache.json"
    dc.decode_check(files, cache, progress=False)
    monkeypatch.setattr(dc, "_decoder", lambda: "pillow 0.0")
    decoded = []
    real_read = dc.read_image
    monkeypatch.setattr(dc, "read_image", lambda p: decoded.append(p) or real_read(p))
    dc.decode_check(files, cache, progress=False)
    assert len(decoded) == len(files)


def test_training_loader_lists_every_undecodable_file_at_once(paired_folder, tmp_path):
    cfg = _cfg(paired_folder, cache_dir=str(tmp_path / "c"))
    with pytest.raises(PairingError) as err:
        build_dataloader(cfg, DataConfig(crop_size=8, batch_size=1), train=True)
    text = str(err.value)
    assert "2 pairing problem(s)" in text
    assert f"{paired_folder / 'lq' / 'b.png'}: cannot read image" in text
    assert f"{paired_folder / 'gt' / 'c.jpg'}: cannot read image" in text


@pytest.mark.parametrize("train", [True, False])
def test_skip_leaves_undecodable_pairs_out_and_reports_each(paired_folder, tmp_path, caplog, train):
    cfg = _cfg(paired_folder, on_bad_pairs="skip", cache_dir=str(tmp_path / "c"))
    with caplog.at_level(logging.WARNING, logger="samdistill.data.layouts"):
        loader = build_dataloader(cfg, DataConfig(crop_size=8, batch_size=1, repeat=1), train=train)
    assert [p.name for p in loader.dataset.pairs] == ["a", "d"]
    lines = caplog.text.splitlines()
    assert any("skipping 2 pairing problem(s)" in line for line in lines)
    assert sum(str(paired_folder / "lq" / "b.png") in line for line in lines) == 1
    assert sum(str(paired_folder / "gt" / "c.jpg") in line for line in lines) == 1
    assert len(list(loader)) == 2  # every remaining item decodes


@pytest.fixture
def one_small_pair(tmp_path, save_image):
    """lq/ and gt/ with 3 pairs of 32x32 and one of 16x40 (narrower than a 24-pixel crop)."""
    root = tmp_path / "small_set"
    for i, (name, size) in enumerate((("a", (32, 32)), ("b", (16, 40)), ("c", (32, 32)), ("d", (32, 32)))):
        save_image(root / "lq" / f"{name}.png", size=size, seed=i)
        save_image(root / "gt" / f"{name}.png", size=size, seed=10 + i)
    return root


def test_an_image_smaller_than_the_crop_is_listed_before_training(one_small_pair, tmp_path):
    """Issue 22, item 4: found by the pre-training check, not at the random step that draws it."""
    cfg = _cfg(one_small_pair, cache_dir=str(tmp_path / "c"))
    with pytest.raises(PairingError) as err:
        build_dataloader(cfg, DataConfig(crop_size=24, batch_size=1), train=True)
    assert "1 pairing problem(s)" in str(err.value)
    assert f"{one_small_pair / 'lq' / 'b.png'} is 16x40 (WxH), smaller than the 24x24 training crop" in str(err.value)
    build_dataloader(cfg, DataConfig(crop_size=24, batch_size=1), train=False)  # validation is not cropped


def test_skip_leaves_pairs_smaller_than_the_crop_out_counted_one_line_each(one_small_pair, tmp_path, caplog):
    cfg = _cfg(one_small_pair, on_bad_pairs="skip", cache_dir=str(tmp_path / "c"))
    with caplog.at_level(logging.WARNING, logger="samdistill.data.layouts"):
        loader = build_dataloader(cfg, DataConfig(crop_size=24, batch_size=1, repeat=1), train=True)
    assert [p.name for p in loader.dataset.pairs] == ["a", "c", "d"]
    assert "skipping 1 pairing problem(s)" in caplog.text
    assert sum("smaller than the crop" in line for line in caplog.text.splitlines()) == 1
    assert len(list(loader)) == 3  # no step can draw the small pair any more
