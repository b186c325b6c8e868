"""Label decoding (train ids, label ids, 13 classes, 8/16-bit, palette), dataset items, crops, bad inputs."""
import numpy as np
import pytest
import torch
from PIL import Image

from samdistill.data.errors import DataError, ImageReadError
from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.dataset import LabelError, SegmentationDataset, read_label, to_classes
from samdistill.data.segmentation.layouts import SegSample

# Official cityscapesscripts table, written out by hand: label id -> train id (others 255).
OFFICIAL = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
            26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def test_label_ids_map_to_train_ids_by_the_official_table(tmp_path, write_label):
    ids = np.arange(34, dtype=np.uint8).reshape(2, 17)
    path = write_label(tmp_path / "x_gtFine_labelIds.png", ids)
    expected = np.vectorize(lambda i: OFFICIAL.get(int(i), 255))(ids)
    got = read_label(path, "labelIds")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)
    # spot checks of non-evaluated classes: unlabeled, ground, parking, guard rail, tunnel, caravan, trailer
    assert all(got.ravel()[i] == 255 for i in (0, 6, 9, 14, 16, 29, 30))


def test_thirteen_class_protocol():
    train_ids = np.array([list(range(19)) + [255]], np.uint8)
    expected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 12, 12, 12, 255, 12, 12, 255]
    assert to_classes(train_ids, 13).tolist() == [expected]
    assert to_classes(train_ids, 19).tolist() == train_ids.tolist()


@pytest.mark.parametrize("bits", [8, 16])
def test_train_ids_8_and_16_bit(tmp_path, write_label, bits):
    ids = np.array([[0, 5, 18], [255, 13, 1]])
    path = write_label(tmp_path / "l.png", ids, bits=bits)
    assert path.read_bytes()[24] == bits  # the PNG really has this bit depth
    np.testing.assert_array_equal(read_label(path), ids)


def test_palette_label_uses_indices(tmp_path):
    im = Image.fromarray(np.array([[0, 2], [18, 255]], np.uint8), mode="L").convert("P")
    im.putpalette([(i * 7) % 256 for i in range(768)])  # colours unrelated to the ids
    im.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    assert read_label(tmp_path / "p.png").tolist() == [[0, 2], [18, 255]]


@pytest.mark.parametrize("kind,value,bits,needle", [
    ("trainIds", 19, 8, "ids [19] (2 pixels) are not train ids 0..18 or 255"),
    ("trainIds", 300, 16, "ids [300] (2 pixels)"),
    ("labelIds", 34, 8, "ids [34] (2 pixels) are not Cityscapes label ids 0..33"),
    ("labelIds", 255, 8, "ids [255]"),
])
def test_unknown_ids_name_the_file(tmp_path, write_label, kind, value, bits, needle):
    path = write_label(tmp_path / "bad.png", np.array([[0, value], [value, 1]]), bits=bits)
    with pytest.raises(LabelError) as err:
        read_label(path, kind)
    assert str(err.value).startswith(f"{path}: bad label:") and needle in str(err.value)


def test_colour_and_corrupt_labels_name_the_file(tmp_path, write_rgb):
    rgb = write_rgb(tmp_path / "color.png")
    with pytest.raises(LabelError, match=rf"{rgb}: bad label: .*mode 'RGB' \(a colour visualisation\?\)"):
        read_label(rgb)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ImageReadError, match=str(garbage)):
        read_label(garbage)


def _cfg(root, **kw):
    return SegDatasetConfig(layout="folders", root=str(root), image_dir="img", label_dir="ann", **kw)


def test_items_image_label_name_index(tmp_path, write_label):
    pixels = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    (tmp_path / "img").mkdir()
    Image.fromarray(pixels).save(tmp_path / "img/a.png")
    Image.fromarray(pixels).save(tmp_path / "img/b.png")
    ids = np.full((6, 8), 255)
    ids[:, :4] = 13  # car
    ids[0, 0] = 12   # rider
    write_label(tmp_path / "ann/a.png", ids)
    write_label(tmp_path / "ann/b_labelIds.png", np.where(ids == 13, 26, 0))  # label id 26 = car
    ds = SegmentationDataset(_cfg(tmp_path, label_pattern=r"^([ab])"))
    item = ds[0]
    assert item["name"] == "a" and item["index"] == 0 and item["labeled"] is True
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 6, 8)
    assert torch.allclose(item["image"], torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
    assert item["label"].dtype == torch.int64 and item["label"].tolist() == ids.tolist()
    assert ds[1]["label"].tolist() == np.where(ids == 13, 13, 255).tolist()
    cs13 = SegmentationDataset(_cfg(tmp_path, label_pattern=r"^([ab])", classes=13))
    assert cs13.class_names[-2:] == ("person", "car")
    assert cs13[0]["label"].tolist() == np.where(ids == 13, 12, np.where(ids == 12, 11, 255)).tolist()


def test_unlabeled_items_are_all_ignore(tmp_path, write_rgb):
    write_rgb(tmp_path / "leftImg8bit/train/Rome/7.jpg", size=(10, 4))
    (item,) = SegmentationDataset(SegDatasetConfig(layout="densepass", root=str(tmp_path), split="train"))
    assert item["labeled"] is False and item["name"] == "Rome_7"
    assert item["label"].shape == (4, 10) and bool((item["label"] == 255).all())


def test_size_mismatch_and_corrupt_image_name_the_files(tmp_path, write_rgb, write_label):
    image = write_rgb(tmp_path / "i.png", size=(8, 6))
    label = write_label(tmp_path / "l.png", 0, size=(8, 5))
    ds = SegmentationDataset(_cfg(tmp_path), samples=[SegSample(image, label, "x")])
    with pytest.raises(LabelError, match=rf"{label}: bad label: size 8x5 differs from its image {image} \(8x6"):
        ds[0]
    assert ds.check_labels() == [f"{label}: bad label: size 8x5 differs from its image {image} (8x6, WxH)"]
    truncated = tmp_path / "t.png"
    truncated.write_bytes(image.read_bytes()[:60])
    ds = SegmentationDataset(_cfg(tmp_path), samples=[SegSample(truncated, write_label(tmp_path / "ok.png", 0), "t")])
    with pytest.raises(ImageReadError, match=str(truncated)):
        ds[0]


def test_check_labels_reports_every_bad_label(tmp_path, write_rgb, write_label):
    image = write_rgb(tmp_path / "i.png")
    bad1 = write_label(tmp_path / "a.png", 40)
    good = write_label(tmp_path / "b.png", 3)
    bad2 = write_label(tmp_path / "c.png", 20)
    samples = [SegSample(image, p, p.stem) for p in (bad1, good, bad2)]
    problems = SegmentationDataset(_cfg(tmp_path), samples=samples).check_labels()
    assert [p.split(":")[0] for p in problems] == [str(bad1), str(bad2)]


def test_crop_and_flip_keep_image_and_label_aligned(tmp_path, write_label):
    h, w = 6, 19
    cols = np.tile(np.arange(w), (h, 1))
    pixels = np.stack([cols * 10, np.tile(np.arange(h)[:, None] * 40, (1, w)), np.zeros((h, w))], -1).astype(np.uint8)
    (tmp_path / "img").mkdir()
    Image.fromarray(pixels).save(tmp_path / "img/a.png")
    write_label(tmp_path / "ann/a.png", cols)  # label = column index (0..18)
    ds = SegmentationDataset(_cfg(tmp_path), crop=(4, 5), hflip=True, seed=3)
    seen = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        item = ds[0]
        image, label = item["image"], item["label"]
        assert image.shape == (3, 4, 5) and label.shape == (4, 5)
        assert torch.equal(torch.round(image[0] * 255 / 10).long(), label)  # same columns, same order
        assert len(set(torch.round(image[1, :, 0] * 255 / 40).long().tolist())) == 4  # 4 distinct rows
        first = label[0].tolist()
        seen.add((first[0], first[1] > first[0]))  # (left column, not flipped)
        ds2 = SegmentationDataset(_cfg(tmp_path), crop=(4, 5), hflip=True, seed=3)
        ds2.set_epoch(epoch)
        assert torch.equal(ds2[0]["image"], image)  # reproducible
    assert {flipped for _, flipped in seen} == {True, False}  # both flipped and not
    assert len({c for c, _ in seen}) > 2  # crops move
    with pytest.raises(DataError, match=r"a.png: image is 19x6 \(WxH\), smaller than the crop 5x7"):
        SegmentationDataset(_cfg(tmp_path), crop=(7, 5))[0]
