"""`samdistill eval-seg`: scores equal to a confusion matrix counted by hand, the 13-class protocol."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.models.artifact import save_model_artifact
from samdistill.inference.evaluate_segmentation import ProtocolMatrix, prediction_map
from samdistill.models.registry import create_backbone

runner = CliRunner()


def _write_pair(root: Path, name: str, pred: np.ndarray, label: np.ndarray) -> None:
    """Image whose red channel holds the ids the color-coded segmenter will predict, and its label."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    (root / "ann").mkdir(parents=True, exist_ok=True)
    rgb = np.stack([pred.astype(np.uint8), np.full(pred.shape, 90, np.uint8), np.zeros(pred.shape, np.uint8)], -1)
    Image.fromarray(rgb).save(root / "img" / f"{name}.png")
    Image.fromarray(label.astype(np.uint8)).save(root / "ann" / f"{name}.png")


def _artifact(tmp_path: Path, num_classes: int = 19) -> Path:
    net = create_backbone("test_color_segmenter", num_classes=num_classes)
    return save_model_artifact(net, "test_color_segmenter", {"num_classes": num_classes},
                               tmp_path / f"seg{num_classes}.safetensors")


def _hand_matrix(pairs, n: int) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    for pred, label in pairs:
        for p, t in zip(pred.ravel(), label.ravel()):
            if t != 255:
                m[t, p] += 1
    return m


def _eval(args: list[str]):
    return runner.invoke(app, ["eval-seg", "--layout", "folders", "--image-dir", "img", "--label-dir", "ann",
                               "--device", "cpu", *args])


# image a: road / sidewalk / building with a wrong corner and ignored pixels; image b: car, sky, person
PRED_A = np.array([[0, 0, 1, 1], [0, 0, 1, 2], [2, 2, 2, 2]])
LABEL_A = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [2, 2, 255, 255]])
PRED_B = np.array([[13, 13, 10, 10], [13, 11, 10, 0], [11, 11, 10, 0]])
LABEL_B = np.array([[13, 13, 10, 10], [13, 13, 10, 10], [11, 11, 255, 0]])


def test_eval_json_equals_a_hand_counted_confusion_matrix(tmp_path: Path) -> None:
    _write_pair(tmp_path / "ds", "a", PRED_A, LABEL_A)
    _write_pair(tmp_path / "ds", "b", PRED_B, LABEL_B)
    out = tmp_path / "report.json"
    res = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "ds"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    m = _hand_matrix([(PRED_A, LABEL_A), (PRED_B, LABEL_B)], 19)
    assert report["confusion_matrix"] == m.tolist()
    assert report["images"] == 2 and report["classes"] == 19 and report["inference"] == "whole image"
    # by hand: road tp 3 + 1, ground truth 3 + 1, predicted (on labeled pixels) 4 + 2;
    # sky tp 3, ground truth 4, predicted 3 (its fourth prediction is on an ignored pixel)
    tp, gt, pr = np.diag(m), m.sum(1), m.sum(0)
    present = (gt + pr) > 0
    iou = tp[present] / (gt + pr - tp)[present]
    assert report["per_class"]["road"]["iou"] == pytest.approx(4 / (4 + 6 - 4))
    assert report["per_class"]["sky"]["iou"] == pytest.approx(3 / (4 + 3 - 3))
    assert report["per_class"]["train"] == {"iou": None, "acc": None, "dice": None}
    assert report["mIoU"] == pytest.approx(iou.mean())
    assert report["pixel_acc"] == pytest.approx(tp.sum() / m.sum())
    acc = tp[gt > 0] / gt[gt > 0]
    assert report["mean_class_acc"] == pytest.approx(acc.mean())
    assert report["mean_dice"] == pytest.approx((2 * tp[present] / (gt + pr)[present]).mean())
    assert f"{100 * iou.mean():.2f}" in res.output  # the table
    assert "predicted_ignored" not in report


def test_sliding_window_evaluation_is_reported_and_scored(tmp_path: Path) -> None:
    _write_pair(tmp_path / "ds", "a", PRED_A, LABEL_A)
    out = tmp_path / "r.json"
    res = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "ds"), "--sliding", "3x2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["inference"] == {"window": 3, "stride": 2, "wrap": True}
    assert report["confusion_matrix"] == _hand_matrix([(PRED_A, LABEL_A)], 19).tolist()  # a per-pixel net


def test_13_class_protocol_maps_predictions_and_labels(tmp_path: Path) -> None:
    # 19-class ids: rider (12) -> person (11), truck (14) / bus (15) / bicycle (18) -> car (12), train (16) -> ignore
    pred = np.array([[12, 14, 16, 16], [11, 15, 0, 16]])
    label = np.array([[11, 13, 13, 255], [12, 18, 16, 10]])
    _write_pair(tmp_path / "ds", "p", pred, label)
    out = tmp_path / "r13.json"
    res = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "ds"), "--classes", "13", "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["classes"] == 13 and report["network_classes"] == 19 and "cs13_lut" in report["protocol"]
    m = np.zeros((13, 13), np.int64)
    m[11, 11] = 2  # person predicted rider (-> person); rider (-> person) predicted person
    m[12, 12] = 2  # car predicted truck; bicycle predicted bus (all -> car)
    # car predicted train and sky predicted train: ignored predictions; the train label is ignored
    assert report["confusion_matrix"] == m.tolist()
    assert report["predicted_ignored"]["car"] == 1 and report["predicted_ignored"]["sky"] == 1
    assert sum(report["predicted_ignored"].values()) == 2
    # misses count against their class: car IoU = 2 / (gt 3 + pred 2 - 2); sky IoU = 0; pixel acc 4 / 6
    assert report["per_class"]["car"]["iou"] == pytest.approx(2 / 3)
    assert report["per_class"]["sky"]["iou"] == 0.0
    assert report["per_class"]["person"]["iou"] == 1.0
    assert report["per_class"]["road"]["iou"] is None  # road is predicted only on an ignored label pixel
    assert report["pixel_acc"] == pytest.approx(4 / 6)
    assert report["mIoU"] == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)


def test_protocol_matrix_without_ignored_predictions_is_the_plain_matrix() -> None:
    pm = ProtocolMatrix(3)
    pm.update(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 255]))
    np.testing.assert_array_equal(pm.cm.matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    assert pm.compute().miou == pytest.approx((1 + 0.5 + 0) / 3)
    assert prediction_map(19, 13)[16] == 255 and prediction_map(13, 13) is None


def test_a_13_class_network_under_its_own_and_the_19_class_protocol(tmp_path: Path) -> None:
    pred13 = np.array([[11, 12, 0, 10]])
    label19 = np.array([[12, 17, 0, 10]])  # rider -> person, motorcycle -> car
    _write_pair(tmp_path / "ds", "p", pred13, label19)
    ckpt = _artifact(tmp_path, 13)
    out = tmp_path / "r.json"
    res = _eval(["-m", str(ckpt), "--root", str(tmp_path / "ds"), "--out", str(out)])  # default: the network's 13
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["classes"] == 13 and report["mIoU"] == 1.0 and report["pixel_acc"] == 1.0
    bad = _eval(["-m", str(ckpt), "--root", str(tmp_path / "ds"), "--classes", "19"])
    assert bad.exit_code == 2 and "13-class network cannot be scored under the 19-class protocol" in bad.output


def test_eval_seg_errors_are_one_line(tmp_path: Path, artifact) -> None:
    _write_pair(tmp_path / "ds", "a", PRED_A, LABEL_A)
    missing = _eval(["-m", str(tmp_path / "nope.safetensors"), "--root", str(tmp_path / "ds")])
    assert missing.exit_code == 2 and "nope.safetensors" in missing.output and "Traceback" not in missing.output
    restoration = _eval(["-m", str(artifact(1.0)), "--root", str(tmp_path / "ds")])
    assert restoration.exit_code == 2 and "restoration network, not a segmenter" in restoration.output
    no_dir = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "missing")])
    assert no_dir.exit_code == 2 and "missing" in no_dir.output
    bad_labels = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "ds"), "--labels", "weird"])
    assert bad_labels.exit_code == 2 and "labels" in bad_labels.output
    Image.fromarray(np.full((3, 4), 40, np.uint8)).save(tmp_path / "ds" / "ann" / "a.png")  # id 40: not a train id
    bad_id = _eval(["-m", str(_artifact(tmp_path)), "--root", str(tmp_path / "ds")])
    assert bad_id.exit_code == 2 and "a.png" in bad_id.output and "40" in bad_id.output


def test_restoration_eval_points_segmentation_checkpoints_to_eval_seg(tmp_path: Path) -> None:
    res = runner.invoke(app, ["eval", "--config", str(tmp_path / "x.yaml"), "-m", str(_artifact(tmp_path))])
    assert res.exit_code == 2 and "eval-seg" in res.output
