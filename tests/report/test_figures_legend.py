"""Segmentation pictures name their rows and carry a class legend (issue 22, item 10: the panorama
strip had no legend, ensemble.png no row labels)."""
import numpy as np
from PIL import Image

from samdistill.data.segmentation.labels import CLASS_NAMES, colorize, palette
from samdistill.report.figures import class_legend, save_labeled_rows


def test_legend_lists_the_classes_present_with_their_colors():
    a = np.array([[0, 0], [13, 255]], np.uint8)
    b = np.array([[10, 0], [0, 0]], np.uint8)
    legend = class_legend([a, b], CLASS_NAMES, palette())
    assert [name for name, _ in legend] == ["road", "sky", "car"]
    assert all((color == colorize(np.array([[CLASS_NAMES.index(n)]], np.uint8))[0, 0]).all() for n, color in legend)


def test_labeled_rows_leave_room_for_names_and_the_legend(tmp_path):
    image = np.random.default_rng(0).random((32, 96, 3)).astype(np.float32)
    labels = colorize(np.zeros((32, 96), np.uint8))
    legend = class_legend([np.array([[0, 10, 13]])], CLASS_NAMES, palette())
    path = save_labeled_rows(tmp_path / "ensemble.png", [image, labels], ["panorama", "ensemble"], legend)
    width, height = Image.open(path).size
    assert width > 96 + 100 and height > 2 * 32 + 4  # a margin for the row names, a band for the legend
    plain = save_labeled_rows(tmp_path / "plain.png", [image, labels], ["panorama", "ensemble"])
    assert Image.open(plain).size[1] < height


def test_row_labels_must_match_the_rows(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="2 rows but 1 row labels"):
        save_labeled_rows(tmp_path / "x.png", [np.zeros((4, 4, 3))] * 2, ["one"])


def test_pano_demo_pictures_name_rows_and_classes(tmp_path, monkeypatch):
    """The pano demo's strip.png and ensemble.png go through save_labeled_rows with row names and
    the legend of the classes shown (networks and data faked: no training)."""
    from types import SimpleNamespace

    import torch

    import samdistill.report.figures as figures
    from samdistill.demos import pano as pano_demo

    label = torch.zeros(8, 16, dtype=torch.long)
    label[:, 8:] = 10
    item = {"image": torch.rand(3, 8, 16), "label": label}

    class Net:
        def __call__(self, x):
            logits = torch.zeros(1, 19, 8, 16)
            logits[:, 13] = 1.0  # everything "car"
            return logits

    monkeypatch.setattr("samdistill.data.segmentation.dataset.SegmentationDataset", lambda cfg: [item, item])
    monkeypatch.setattr("samdistill.models.artifact.load_model_artifact", lambda path: Net())
    calls = []
    monkeypatch.setattr(figures, "save_labeled_rows", lambda path, rows, labels, legend: calls.append(
        (path.name, len(rows), list(labels), [n for n, _ in legend])))
    val = SimpleNamespace(model_copy=lambda update: None)
    goodsam = SimpleNamespace(goodsam=SimpleNamespace(data=SimpleNamespace(val=val), classes=19), output_dir=str(tmp_path))
    cfgs = {"goodsam": goodsam, "source_only": SimpleNamespace(output_dir=str(tmp_path))}
    example = {"image": item["image"], "ensemble": label, "label": label}
    pano_demo._pictures(tmp_path, cfgs, example)
    strip, ensemble = calls
    assert strip[0] == "strip.png" and strip[1] == 8
    assert strip[2][:4] == ["panorama 1", "source-only", "GoodSAM", "truth"] and strip[3] == ["road", "sky", "car"]
    assert ensemble == ("ensemble.png", 3, ["panorama", "ensemble pseudo-labels", "truth"], ["road", "sky"])
