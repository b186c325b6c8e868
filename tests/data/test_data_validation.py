import logging

import pytest

from samdistill.data.config import DatasetConfig
from samdistill.data.errors import PairingError
from samdistill.data.layouts import find_pairs, resolve_pairs, validate_pairs


@pytest.fixture
def messy_restormer(tmp_path, save_image):
    """good: 1, 2. Problems: LQ without GT, GT without LQ, duplicate name, corrupt GT, size mismatch."""
    for name in ("1", "2"):
        save_image(tmp_path / f"input/{name}.png")
        save_image(tmp_path / f"target/{name}.png")
    save_image(tmp_path / "input/orphan.png")
    save_image(tmp_path / "target/lonely.png")
    save_image(tmp_path / "input/dup.png")
    save_image(tmp_path / "input/dup.jpg")
    save_image(tmp_path / "target/dup.png")
    save_image(tmp_path / "input/broken.png")
    (tmp_path / "target/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    save_image(tmp_path / "input/big.png", size=(16, 16))
    save_image(tmp_path / "target/big.png", size=(16, 12))
    return tmp_path


def test_all_problems_reported_together(messy_restormer):
    root = messy_restormer
    cfg = DatasetConfig(layout="restormer", root=str(root))
    good, problems = validate_pairs(find_pairs(cfg), cfg)
    assert [p.name for p in good] == ["1", "2"]
    text = "\n".join(problems)
    assert len(problems) == 5, text
    assert f"unmatched LQ: {root / 'input/orphan.png'}" in text
    assert f"unmatched GT: {root / 'target/lonely.png'}" in text
    assert f"duplicate name 'dup': {root / 'input/dup.jpg'}, {root / 'input/dup.png'}" in text
    assert f"unreadable: {root / 'target/broken.png'}" in text
    assert f"size mismatch: LQ {root / 'input/big.png'} is 16x16 but GT {root / 'target/big.png'} is 16x12" in text


def test_resolve_raises_pairing_error_listing_everything(messy_restormer):
    with pytest.raises(PairingError) as info:
        resolve_pairs(DatasetConfig(layout="restormer", root=str(messy_restormer)))
    err = info.value
    assert len(err.problems) == 5 and err.root == messy_restormer
    for name in ("orphan.png", "lonely.png", "dup.jpg", "broken.png", "big.png"):
        assert name in str(err)


def test_skip_keeps_good_pairs_and_warns(messy_restormer, caplog):
    cfg = DatasetConfig(layout="restormer", root=str(messy_restormer), on_bad_pairs="skip")
    with caplog.at_level(logging.WARNING):
        pairs = resolve_pairs(cfg)
    assert [p.name for p in pairs] == ["1", "2"]
    assert "5 pairing problem" in caplog.text and "orphan.png" in caplog.text


def test_truncated_file_needs_full_decode(tmp_path, save_image):
    save_image(tmp_path / "input/a.png", size=(32, 32))
    gt = save_image(tmp_path / "target/a.png", size=(32, 32))
    gt.write_bytes(gt.read_bytes()[:-200])  # header intact, pixel data cut
    cfg = DatasetConfig(layout="restormer", root=str(tmp_path))
    assert validate_pairs(find_pairs(cfg), cfg)[1] == []  # header-only check cannot see it
    good, problems = validate_pairs(find_pairs(cfg), cfg, full_decode=True)
    assert good == [] and problems[0].startswith(f"unreadable: {gt}")


def test_rain200_bad_names_and_unmatched(tmp_path, save_image):
    save_image(tmp_path / "norain/norain-1.png")
    save_image(tmp_path / "norain/norain-2.png")
    save_image(tmp_path / "rain/X2/norain-1x2.png")
    save_image(tmp_path / "rain/X2/rain-7.png")  # does not follow norain-{i}x2
    _, problems = validate_pairs(find_pairs(DatasetConfig(layout="rain200", root=str(tmp_path))))
    assert sorted(problems) == sorted([
        f"unmatched LQ: {tmp_path / 'rain/X2/rain-7.png'} (name does not fit norain-{{i}}x2 -> norain/norain-{{i}})",
        f"unmatched GT: {tmp_path / 'norain/norain-2.png'} (no LQ image for it)",
    ])


def test_ddn_gt_without_any_rainy_version_is_reported(tmp_path, save_image):
    save_image(tmp_path / "ground_truth/1.jpg")
    save_image(tmp_path / "ground_truth/2.jpg")
    save_image(tmp_path / "rainy_image/1_1.jpg")
    save_image(tmp_path / "rainy_image/1_2.jpg")
    good, problems = validate_pairs(find_pairs(DatasetConfig(layout="ddn", root=str(tmp_path))))
    assert len(good) == 2
    assert problems == [f"unmatched GT: {tmp_path / 'ground_truth/2.jpg'} (no LQ image for it)"]


def test_didmdn_odd_width_and_corrupt(tmp_path, save_image):
    save_image(tmp_path / "ok.png", size=(8, 4))
    save_image(tmp_path / "odd.png", size=(9, 4))
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    good, problems = validate_pairs(find_pairs(DatasetConfig(layout="didmdn", root=str(tmp_path))))
    assert [p.name for p in good] == ["ok"]
    assert any(p.startswith(f"odd width: {tmp_path / 'odd.png'} is 9x4") for p in problems)
    assert any(p.startswith(f"unreadable: {tmp_path / 'bad.jpg'}") for p in problems)


def test_gopro_unmatched_frame(tmp_path, save_image):
    save_image(tmp_path / "train/S1/blur/1.png")
    save_image(tmp_path / "train/S1/blur/2.png")
    save_image(tmp_path / "train/S1/sharp/1.png")
    _, problems = validate_pairs(find_pairs(DatasetConfig(layout="gopro", root=str(tmp_path))))
    assert len(problems) == 1 and problems[0].startswith(f"unmatched LQ: {tmp_path / 'train/S1/blur/2.png'}")
