import numpy as np
import pytest
from PIL import Image

from samdistill.data.config import DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.io import read_image
from samdistill.data.layouts import find_pairs, resolve_pairs


def names(pairs):
    return [p.name for p in pairs]


def rel(pairs, root):
    return [(str(p.lq.relative_to(root)), str(p.gt.relative_to(root))) for p in pairs]


@pytest.mark.parametrize("x2", [True, False])
def test_rain200(tmp_path, save_image, x2):
    lq_dir = "rain/X2" if x2 else "rain"
    for i in (1, 2, 10):
        save_image(tmp_path / f"norain/norain-{i}.png")
        save_image(tmp_path / f"{lq_dir}/norain-{i}x2.png")
    pairs = resolve_pairs(DatasetConfig(layout="rain200", root=str(tmp_path)))
    assert names(pairs) == ["norain-1", "norain-2", "norain-10"]  # natural order
    assert rel(pairs, tmp_path)[2] == (f"{lq_dir}/norain-10x2.png", "norain/norain-10.png")


def test_restormer_and_split_subfolder(tmp_path, save_image):
    for name in ("b.png", "a.JPG", "c.bmp"):
        save_image(tmp_path / "test" / "input" / name)
        save_image(tmp_path / "test" / "target" / name)
    (tmp_path / "test" / "input" / "notes.txt").write_text("ignored")
    pairs = resolve_pairs(DatasetConfig(layout="restormer", root=str(tmp_path), split="test"))
    assert names(pairs) == ["a", "b", "c"]
    assert pairs[0].lq == tmp_path / "test/input/a.JPG"


@pytest.mark.parametrize("side", ["left", "right"])
def test_didmdn_side_by_side(tmp_path, side):
    pixels = np.zeros((5, 8, 3), np.uint8)
    pixels[:, :4] = 200  # left half bright, right half dark
    Image.fromarray(pixels).save(tmp_path / "1.png")
    (pair,) = resolve_pairs(DatasetConfig(layout="didmdn", root=str(tmp_path), didmdn_lq_side=side))
    assert pair.lq == pair.gt == tmp_path / "1.png"
    lq, gt = read_image(pair.lq, pair.lq_box), read_image(pair.gt, pair.gt_box)
    assert lq.shape == gt.shape == (5, 4, 3)
    bright, dark = (lq, gt) if side == "left" else (gt, lq)
    assert bright.min() == pytest.approx(200 / 255) and dark.max() == 0


def test_ddn_many_rainy_versions_share_one_gt(tmp_path, save_image):
    for i in (1, 2):
        save_image(tmp_path / f"ground_truth/{i}.jpg")
        for k in (1, 2, 14):
            save_image(tmp_path / f"rainy_image/{i}_{k}.jpg")
    pairs = resolve_pairs(DatasetConfig(layout="ddn", root=str(tmp_path)))
    assert names(pairs) == ["1_1", "1_2", "1_14", "2_1", "2_2", "2_14"]
    assert {p.gt.name for p in pairs[:3]} == {"1.jpg"}


@pytest.mark.parametrize("give_split_folder", [False, True])
def test_gopro(tmp_path, save_image, give_split_folder):
    for seq in ("GOPR0001_00", "GOPR0002_00"):
        for frame in ("000001", "000002"):
            save_image(tmp_path / f"test/{seq}/blur/{frame}.png")
            save_image(tmp_path / f"test/{seq}/sharp/{frame}.png")
    save_image(tmp_path / "train/GOPR0009_00/blur/000001.png")
    save_image(tmp_path / "train/GOPR0009_00/sharp/000001.png")
    root = tmp_path / "test" if give_split_folder else tmp_path
    pairs = resolve_pairs(DatasetConfig(layout="gopro", root=str(root), split="test"))
    assert names(pairs) == ["GOPR0001_00_000001", "GOPR0001_00_000002", "GOPR0002_00_000001", "GOPR0002_00_000002"]
    assert pairs[3].gt == tmp_path / "test/GOPR0002_00/sharp/000002.png"


def test_sidd(tmp_path, save_image):
    for scene, sid in (("0001_001_S6_00100", "0001"), ("0002_001_S6_00100", "0002")):
        for k in ("010", "011"):
            save_image(tmp_path / f"Data/{scene}/{sid}_NOISY_SRGB_{k}.PNG")
            save_image(tmp_path / f"Data/{scene}/{sid}_GT_SRGB_{k}.PNG")
    pairs = resolve_pairs(DatasetConfig(layout="sidd", root=str(tmp_path)))
    assert names(pairs) == ["0001_010", "0001_011", "0002_010", "0002_011"]
    assert pairs[0].gt.name == "0001_GT_SRGB_010.PNG"


def test_folders_by_stem_and_by_pattern(tmp_path, save_image):
    for key in ("x1", "x2"):
        save_image(tmp_path / f"lq/{key}.png")
        save_image(tmp_path / f"gt/{key}.jpg")
        save_image(tmp_path / f"lq2/rainy_{key}_v3.png")
    by_stem = resolve_pairs(DatasetConfig(layout="folders", root=str(tmp_path), lq_dir="lq", gt_dir="gt"))
    assert rel(by_stem, tmp_path) == [("lq/x1.png", "gt/x1.jpg"), ("lq/x2.png", "gt/x2.jpg")]
    cfg = DatasetConfig(layout="folders", root=str(tmp_path), lq_dir="lq2", gt_dir="gt", pattern=r"rainy_(\w+?)_v\d")
    assert rel(resolve_pairs(cfg), tmp_path) == [("lq2/rainy_x1_v3.png", "gt/x1.jpg"), ("lq2/rainy_x2_v3.png", "gt/x2.jpg")]


def test_folders_pattern_without_group_is_an_error(tmp_path, save_image):
    save_image(tmp_path / "lq/a.png")
    save_image(tmp_path / "gt/a.png")
    cfg = DatasetConfig(layout="folders", root=str(tmp_path), lq_dir="lq", gt_dir="gt", pattern=r"a")
    with pytest.raises(DataError, match="capture group"):
        find_pairs(cfg)


def test_missing_root_names_path_and_expected_tree(tmp_path):
    with pytest.raises(DataError) as info:
        find_pairs(DatasetConfig(layout="ddn", root=str(tmp_path / "nowhere")))
    assert str(tmp_path / "nowhere") in str(info.value) and "rainy_image/{i}_{k}.jpg" in str(info.value)


def test_missing_subfolder_names_it(tmp_path):
    (tmp_path / "norain").mkdir()
    with pytest.raises(DataError, match="rain.*folder not found"):
        find_pairs(DatasetConfig(layout="rain200", root=str(tmp_path)))


def test_empty_dataset_is_an_error(tmp_path):
    (tmp_path / "input").mkdir()
    (tmp_path / "target").mkdir()
    with pytest.raises(DataError, match="no usable image pairs.*input/"):
        resolve_pairs(DatasetConfig(layout="restormer", root=str(tmp_path)))


def test_limit_keeps_first_pairs(tmp_path, save_image):
    for i in range(1, 6):
        save_image(tmp_path / f"input/{i}.png")
        save_image(tmp_path / f"target/{i}.png")
    pairs = resolve_pairs(DatasetConfig(layout="restormer", root=str(tmp_path), limit=2))
    assert names(pairs) == ["1", "2"]
