"""Segmentation layouts scanned from small trees: matching, ignored files, every problem reported."""
from pathlib import Path

import pytest
from pydantic import ValidationError

from samdistill.data.errors import DataError
from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.layouts import SampleError, find_samples, resolve_samples


def rel(path, root):
    return None if path is None else str(Path(path).relative_to(root))


def table(samples, root):
    return [(s.name, rel(s.image, root), rel(s.label, root), s.label_kind) for s in samples]


def cfg(root, **kw):
    return SegDatasetConfig(root=str(root), **kw)


# --- cityscapes -------------------------------------------------------------------------------


def _cityscapes(root, write_rgb, write_label, split="train"):
    img, gt = root / "leftImg8bit" / split, root / "gtFine" / split
    for city, stem in (("aachen", "aachen_000000_000019"), ("aachen", "aachen_000002_000019"),
                       ("bochum", "bochum_000000_000313")):
        write_rgb(img / city / f"{stem}_leftImg8bit.png")
    write_label(gt / "aachen/aachen_000000_000019_gtFine_labelTrainIds.png", 0)  # both kinds
    write_label(gt / "aachen/aachen_000000_000019_gtFine_labelIds.png", 7)
    write_label(gt / "aachen/aachen_000002_000019_gtFine_labelIds.png", 7)       # labelIds only
    write_label(gt / "bochum/bochum_000000_000313_gtFine_labelTrainIds.png", 0)  # trainIds only
    for extra in ("aachen/aachen_000000_000019_gtFine_color.png", "aachen/aachen_000000_000019_gtFine_instanceIds.png"):
        write_rgb(gt / extra)
    (gt / "aachen/aachen_000000_000019_gtFine_polygons.json").write_text("{}")
    write_rgb(root / "depth" / split / "aachen/aachen_000000_000019_depth.png")   # the street world's extras
    write_label(root / "world" / split / "aachen/aachen_000000_000019_gtFine_labelTrainIds.png", 0)


def test_cityscapes_auto_prefers_train_ids_and_ignores_other_files(tmp_path, write_rgb, write_label):
    _cityscapes(tmp_path, write_rgb, write_label)
    samples = resolve_samples(cfg(tmp_path, layout="cityscapes", split="train"))
    assert table(samples, tmp_path) == [
        ("aachen_000000_000019", "leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png",
         "gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png", "trainIds"),
        ("aachen_000002_000019", "leftImg8bit/train/aachen/aachen_000002_000019_leftImg8bit.png",
         "gtFine/train/aachen/aachen_000002_000019_gtFine_labelIds.png", "labelIds"),
        ("bochum_000000_000313", "leftImg8bit/train/bochum/bochum_000000_000313_leftImg8bit.png",
         "gtFine/train/bochum/bochum_000000_000313_gtFine_labelTrainIds.png", "trainIds"),
    ]


def test_cityscapes_explicit_label_ids_reports_the_image_without_one(tmp_path, write_rgb, write_label):
    _cityscapes(tmp_path, write_rgb, write_label)
    config = cfg(tmp_path, layout="cityscapes", split="train", labels="labelIds")
    found = find_samples(config)
    assert [(s.name, s.label_kind, s.label.name) for s in found] == [
        ("aachen_000000_000019", "labelIds", "aachen_000000_000019_gtFine_labelIds.png"),
        ("aachen_000002_000019", "labelIds", "aachen_000002_000019_gtFine_labelIds.png"),
    ]
    with pytest.raises(SampleError) as err:
        resolve_samples(config)
    assert err.value.problems == [
        f"unmatched image: {tmp_path}/leftImg8bit/train/bochum/bochum_000000_000313_leftImg8bit.png "
        "(no label; expected gtFine/train/CITY/NAME_gtFine_labelIds.png)"]


def test_cityscapes_every_problem_at_once_then_skip(tmp_path, write_rgb, write_label):
    img, gt = tmp_path / "leftImg8bit/val/lindau", tmp_path / "gtFine/val/lindau"
    write_rgb(img / "lindau_1_leftImg8bit.png")
    write_label(gt / "lindau_1_gtFine_labelTrainIds.png", 0)
    write_rgb(img / "lindau_2_leftImg8bit.png")                   # no label
    write_label(gt / "lindau_3_gtFine_labelTrainIds.png", 0)      # no image
    write_rgb(img / "lindau_4.png")                               # wrong name
    write_rgb(img / "lindau_5_leftImg8bit.png", size=(8, 6))
    write_label(gt / "lindau_5_gtFine_labelTrainIds.png", 0, size=(6, 8))  # size mismatch
    write_rgb(img / "lindau_6_leftImg8bit.png")
    (gt / "lindau_6_gtFine_labelTrainIds.png").write_bytes(b"not a png")  # unreadable
    config = cfg(tmp_path, layout="cityscapes", split="val")
    with pytest.raises(SampleError) as err:
        resolve_samples(config)
    problems = "\n".join(err.value.problems)
    assert len(err.value.problems) == 5
    for needle in ("unmatched image: " + str(img / "lindau_2_leftImg8bit.png"),
                   "unmatched label: " + str(gt / "lindau_3_gtFine_labelTrainIds.png"),
                   "unexpected image name: " + str(img / "lindau_4.png"),
                   f"size mismatch: image {img / 'lindau_5_leftImg8bit.png'} is 8x6 but label "
                   f"{gt / 'lindau_5_gtFine_labelTrainIds.png'} is 6x8",
                   "unreadable: " + str(gt / "lindau_6_gtFine_labelTrainIds.png")):
        assert needle in problems
    assert str(tmp_path) in str(err.value) and "on_bad: skip" in str(err.value)
    skipped = resolve_samples(cfg(tmp_path, layout="cityscapes", split="val", on_bad="skip"))
    assert [s.name for s in skipped] == ["lindau_1"]


def test_cityscapes_test_split_may_lack_labels(tmp_path, write_rgb):
    write_rgb(tmp_path / "leftImg8bit/test/berlin/berlin_000000_000019_leftImg8bit.png")
    (sample,) = resolve_samples(cfg(tmp_path, layout="cityscapes", split="test"))
    assert sample.label is None and sample.name == "berlin_000000_000019"
    with pytest.raises(DataError, match="leftImg8bit/val: folder not found"):
        resolve_samples(cfg(tmp_path, layout="cityscapes", split="val"))


# --- densepass --------------------------------------------------------------------------------


def _densepass(root, write_rgb, write_label):
    val, gt = root / "leftImg8bit/val", root / "gtFine/val"
    write_rgb(val / "0_.png")
    write_rgb(val / "1.png")
    write_rgb(val / "2_.jpg")
    write_rgb(val / "10_.png")
    write_label(gt / "0_labelTrainIds.png", 0)    # Trans4PASS: "0_.png" -> "0_labelTrainIds.png"
    write_label(gt / "1__labelTrainIds.png", 0)   # "1_.png" + "_labelTrainIds.png"
    write_label(gt / "2labelTrainIds.png", 0)     # "2.png" -> "2labelTrainIds.png"
    write_label(gt / "10_labelTrainIds.png", 0)
    write_rgb(gt / "0_color.png")                 # not labels of the requested kind: ignored
    write_label(gt / "0_instanceIds.png", 3)
    write_label(gt / "77_instanceIds.png", 3)
    (gt / "README.txt").write_text("ignored")
    for tree in ("depth", "world"):               # the street world writes these beside: ignored
        write_rgb(root / tree / "val/0_.png")
        write_label(root / tree / "val/99_labelTrainIds.png", 0)
        write_rgb(root / tree / "train/Aachen/5.jpg")


def test_densepass_val_matches_both_label_namings(tmp_path, write_rgb, write_label):
    _densepass(tmp_path, write_rgb, write_label)
    found = find_samples(cfg(tmp_path, layout="densepass", split="val"))
    assert found.scan_problems == []
    assert table(found, tmp_path) == [
        ("0", "leftImg8bit/val/0_.png", "gtFine/val/0_labelTrainIds.png", "trainIds"),
        ("1", "leftImg8bit/val/1.png", "gtFine/val/1__labelTrainIds.png", "trainIds"),
        ("2", "leftImg8bit/val/2_.jpg", "gtFine/val/2labelTrainIds.png", "trainIds"),
        ("10", "leftImg8bit/val/10_.png", "gtFine/val/10_labelTrainIds.png", "trainIds"),
    ]
    test_split = resolve_samples(cfg(tmp_path, layout="densepass", split="test"))  # test = val folder
    assert [s.name for s in test_split] == ["0", "1", "2", "10"]


def test_densepass_train_is_unlabeled_and_ignores_extra_trees(tmp_path, write_rgb, write_label):
    _densepass(tmp_path, write_rgb, write_label)
    for city, k, ext in (("Aachen", 2, "png"), ("Aachen", 10, "jpg"), ("Aachen", 1, "jpg"), ("Berlin", 1, "jpg")):
        write_rgb(tmp_path / f"leftImg8bit/train/{city}/{k}.{ext}")
    write_label(tmp_path / "gtFine/train/Aachen/1_labelTrainIds.png", 0)  # never used for train
    samples = resolve_samples(cfg(tmp_path, layout="densepass", split="train"))
    assert table(samples, tmp_path) == [
        ("Aachen_1", "leftImg8bit/train/Aachen/1.jpg", None, "trainIds"),
        ("Aachen_2", "leftImg8bit/train/Aachen/2.png", None, "trainIds"),
        ("Aachen_10", "leftImg8bit/train/Aachen/10.jpg", None, "trainIds"),
        ("Berlin_1", "leftImg8bit/train/Berlin/1.jpg", None, "trainIds"),
    ]


def test_densepass_duplicates_and_unmatched_all_reported(tmp_path, write_rgb, write_label):
    val, gt = tmp_path / "leftImg8bit/val", tmp_path / "gtFine/val"
    write_rgb(val / "3_.png")
    write_rgb(val / "3.png")                      # same key 3
    write_rgb(val / "4_.png")
    write_label(gt / "3_labelTrainIds.png", 0)
    write_label(gt / "4_labelTrainIds.png", 0)
    write_label(gt / "4__labelTrainIds.png", 0)   # same key 4
    write_rgb(val / "5_.png")                     # no label
    write_label(gt / "6_labelTrainIds.png", 0)    # no image
    with pytest.raises(SampleError) as err:
        resolve_samples(cfg(tmp_path, layout="densepass", split="val"))
    assert sorted(err.value.problems) == sorted([
        f"duplicate image key '3': {val / '3.png'}, {val / '3_.png'}",
        f"duplicate trainIds label key '4': {gt / '4__labelTrainIds.png'}, {gt / '4_labelTrainIds.png'}",
        f"unmatched image: {val / '5_.png'} (no label; expected gtFine/val/{{n}}_labelTrainIds.png or "
        "gtFine/val/{n}_labelIds.png)",
        f"unmatched label: {gt / '6_labelTrainIds.png'} (no image for it)",
    ])


# --- folders ----------------------------------------------------------------------------------


def test_folders_by_stem_and_unlabeled(tmp_path, write_rgb, write_label):
    for name in ("b", "a", "c10", "c9"):
        write_rgb(tmp_path / f"img/{name}.jpg")
        write_label(tmp_path / f"ann/{name}.png", 0)
    write_label(tmp_path / "ann/z_labelIds.png", 7)
    write_rgb(tmp_path / "img/z_labelIds.png")
    samples = resolve_samples(cfg(tmp_path, layout="folders", image_dir="img", label_dir="ann"))
    assert [(s.name, s.label.name, s.label_kind) for s in samples] == [
        ("a", "a.png", "trainIds"), ("b", "b.png", "trainIds"), ("c9", "c9.png", "trainIds"),
        ("c10", "c10.png", "trainIds"), ("z_labelIds", "z_labelIds.png", "labelIds")]  # auto: by file name
    forced = resolve_samples(cfg(tmp_path, layout="folders", image_dir="img", label_dir="ann", labels="trainIds"))
    assert {s.label_kind for s in forced} == {"trainIds"}
    unlabeled = resolve_samples(cfg(tmp_path, layout="folders", image_dir="img"))
    assert [s.label for s in unlabeled] == [None] * 5


def test_folders_by_patterns(tmp_path, write_rgb, write_label):
    write_rgb(tmp_path / "img/x_001_leftImg8bit.png")
    write_rgb(tmp_path / "img/x_002_leftImg8bit.png")
    write_rgb(tmp_path / "img/thumbnail.png")     # does not fit the pattern: reported
    write_label(tmp_path / "ann/x_001_gtFine_labelTrainIds.png", 0)
    write_label(tmp_path / "ann/x_002_gtFine_labelTrainIds.png", 0)
    write_rgb(tmp_path / "ann/x_001_gtFine_color.png")  # does not fit label_pattern: ignored
    config = dict(layout="folders", image_dir="img", label_dir="ann", pattern=r"(.+)_leftImg8bit$",
                  label_pattern=r"(.+)_gtFine_labelTrainIds$")
    found = find_samples(cfg(tmp_path, **config))
    assert [(s.name, s.label.name) for s in found] == [
        ("x_001", "x_001_gtFine_labelTrainIds.png"), ("x_002", "x_002_gtFine_labelTrainIds.png")]
    assert found.scan_problems == [
        f"unmatched image: {tmp_path / 'img/thumbnail.png'} (name does not fit pattern '(.+)_leftImg8bit$')"]
    with pytest.raises(DataError, match="needs one capture group"):
        find_samples(cfg(tmp_path, **{**config, "pattern": "leftImg8bit"}))


def test_limit_and_config_checks(tmp_path, write_rgb, write_label):
    for i in range(5):
        write_rgb(tmp_path / f"leftImg8bit/val/{i}_.png")
        write_label(tmp_path / f"gtFine/val/{i}_labelTrainIds.png", 0)
    assert [s.name for s in resolve_samples(cfg(tmp_path, layout="densepass", limit=2))] == ["0", "1"]
    with pytest.raises(ValidationError, match="needs image_dir"):
        cfg(tmp_path, layout="folders")
    with pytest.raises(ValidationError, match="only apply to layout='folders'"):
        cfg(tmp_path, layout="densepass", image_dir="x")
    with pytest.raises(ValidationError):
        cfg(tmp_path, classes=12)
    assert cfg(tmp_path, classes=13).classes == 13
