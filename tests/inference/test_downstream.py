"""Downstream segmentation in `evaluate_model`: scores of restored, input and GT images against labels."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from samdistill.data.config import DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.paired import PairedImageDataset
from samdistill.inference.downstream import DownstreamScorer
from samdistill.inference.evaluate import evaluate_model
from samdistill.metrics.config import EvalConfig
from samdistill.metrics.segmentation import ConfusionMatrix

ROAD, BUILDING = 0, 2


class RedIsRoad(nn.Module):
    """A 19-class 'segmenter': road where red > 0.5, building elsewhere."""

    num_classes = 19

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 19, *x.shape[-2:])
        red = (x[:, 0] > 0.5).float()
        logits[:, ROAD], logits[:, BUILDING] = red, 1 - red
        return logits


class Gain(nn.Module):
    def __init__(self, gain: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(gain))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.w


def _scene(tmp_path: Path, i: int) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(i)
    gt = np.zeros((16, 24, 3), np.uint8)
    gt[:, :12, 0] = 230                     # left: red road; right: dark building
    label = np.where(gt[..., 0] > 128, ROAD, BUILDING).astype(np.uint8)
    lq = np.clip(gt.astype(int) + rng.integers(-140, 141, gt.shape), 0, 255).astype(np.uint8)
    paths = []
    for kind, img in (("lq", lq), ("gt", gt)):
        path = tmp_path / kind / f"s{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)
        paths.append(path)
    (tmp_path / "labels").mkdir(exist_ok=True)
    Image.fromarray(label).save(tmp_path / "labels" / f"s{i}_labelTrainIds.png")
    return paths[0], paths[1], label


def _expected(images: list[np.ndarray], labels: list[np.ndarray]) -> ConfusionMatrix:
    cm = ConfusionMatrix(19)
    for img, label in zip(images, labels):
        cm.update(np.where(img[..., 0] > 0.5, ROAD, BUILDING), label)
    return cm


def test_restored_input_and_gt_are_segmented_and_scored(tmp_path: Path) -> None:
    from samdistill.data.io import read_image

    scenes = [_scene(tmp_path, i) for i in range(3)]
    pairs = [(lq, gt) for lq, gt, _ in scenes]
    scorer = DownstreamScorer(RedIsRoad(), labels_dir=tmp_path / "labels", source="red-is-road")
    report = evaluate_model(Gain(0.8), pairs, EvalConfig(), save_dir=tmp_path / "ev", progress=False, downstream=scorer)
    seg = report["downstream"]
    labels = [label for _, _, label in scenes]
    lqs = [read_image(lq) for lq, _, _ in scenes]
    restored = [np.round(np.clip(x * 0.8, 0, 1) * 255) / 255 for x in lqs]
    for kind, images in (("input", lqs), ("restored", restored), ("gt", [read_image(gt) for _, gt, _ in scenes])):
        ref = _expected(images, labels).compute()
        assert seg[kind]["mIoU"] == pytest.approx(ref.miou, abs=1e-12), kind
        assert seg[kind]["pixel_acc"] == pytest.approx(ref.pixel_acc, abs=1e-12), kind
        assert seg[kind]["mean_dice"] == pytest.approx(ref.mean_dice, abs=1e-12), kind
    assert seg["gt"]["mIoU"] == 1.0 and seg["input"]["mIoU"] < 1.0
    assert seg["restored"]["per_class"]["road"]["iou"] is not None and seg["restored"]["per_class"]["sky"]["iou"] is None
    row = report["images"][1]
    assert row["gt_seg_acc"] == 1.0 and row["input_seg_acc"] == pytest.approx(
        float((np.where(lqs[1][..., 0] > 0.5, ROAD, BUILDING) == labels[1]).mean()), abs=1e-12)
    assert row["label_path"] == str(tmp_path / "labels" / "s1_labelTrainIds.png")
    # per-image matrices add up to the dataset-level one
    total = np.zeros((19, 19), np.int64)
    for triples in seg["per_image_confusion"]["restored"].values():
        for t, p, n in triples:
            total[t, p] += n
    assert np.array_equal(total, _expected(restored, labels).matrix)
    on_disk = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert on_disk["downstream"]["segmenter"] == "red-is-road"
    md = (tmp_path / "ev" / "metrics.md").read_text()
    assert f"| ground truth | 100.00 | 100.00 | 100.00 |" in md and "seg mIoU" in md


def test_missing_and_mis_sized_labels_name_the_image(tmp_path: Path) -> None:
    lq, gt, _ = _scene(tmp_path, 0)
    (tmp_path / "labels" / "s0_labelTrainIds.png").unlink()
    scorer = DownstreamScorer(RedIsRoad(), labels_dir=tmp_path / "labels")
    with pytest.raises(DataError, match=r"s0: no label in .*labels.*s0_labelTrainIds\.png"):
        evaluate_model(Gain(1.0), [(lq, gt)], EvalConfig(), progress=False, downstream=scorer)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "labels" / "s0.png")
    with pytest.raises(DataError, match=r"s0: label .*s0\.png is 8x8 but the image is 24x16"):
        evaluate_model(Gain(1.0), [(lq, gt)], EvalConfig(), progress=False,
                       downstream=DownstreamScorer(RedIsRoad(), labels_dir=tmp_path / "labels"))
    with pytest.raises(DataError, match="gives no label"):
        evaluate_model(Gain(1.0), [(lq, gt)], EvalConfig(), progress=False, downstream=DownstreamScorer(RedIsRoad()))


def test_raincityscapes_labels_come_from_the_layout(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    from test_raincityscapes_layout import make_tree

    make_tree(tmp_path)  # labelIds: road (7) left half, building (11) right half
    dataset = PairedImageDataset(DatasetConfig(layout="raincityscapes", root=str(tmp_path), split="val"))
    report = evaluate_model(Gain(1.0), dataset, EvalConfig(), progress=False, downstream=DownstreamScorer(RedIsRoad()))
    assert report["count"] == 8 and all(r["label_path"].endswith("_gtFine_labelIds.png") for r in report["images"])
    seg = report["downstream"]
    assert seg["gt"]["per_class"]["road"]["iou"] is not None and seg["gt"]["per_class"]["car"]["iou"] is None


def test_compare_bootstraps_the_downstream_scores(tmp_path: Path) -> None:
    from samdistill.compare.runs import load_runs
    from samdistill.compare.table import compare_runs, markdown

    pairs = [_scene(tmp_path, i)[:2] for i in range(4)]
    for name, gain in (("dim", 0.5), ("plain", 1.0)):
        evaluate_model(Gain(gain), pairs, EvalConfig(), save_dir=tmp_path / name, progress=False,
                       downstream=DownstreamScorer(RedIsRoad(), labels_dir=tmp_path / "labels"))
    runs = load_runs([tmp_path / "dim", tmp_path / "plain"])
    section = compare_runs(runs, resamples=300)["datasets"]["dataset"]
    reports = [json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("dim", "plain")]
    ci = section["deltas"][0]["ci"]["mIoU"]
    expected = reports[1]["downstream"]["restored"]["mIoU"] - reports[0]["downstream"]["restored"]["mIoU"]
    assert ci["delta"] == pytest.approx(expected, abs=1e-12) and ci["low"] <= ci["delta"] <= ci["high"]
    assert section["rows"][0]["label"] == "input" and section["rows"][0]["values"]["mIoU"] == pytest.approx(
        reports[0]["downstream"]["input"]["mIoU"])
    assert "mIoU↑" in markdown({"runs": [], "bootstrap": {"resamples": 300, "seed": 0, "confidence": 0.95},
                                "datasets": {"dataset": section}})
