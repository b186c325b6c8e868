"""evaluate_model / compare_folders / `samdistill metrics`: correct scores, means and reports."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.metrics import register as register_metrics
from samdistill.data.errors import DataError
from samdistill.data.io import read_image
from samdistill.inference.evaluate import compare_folders, evaluate_model
from samdistill.metrics.config import EvalConfig
from samdistill.metrics.psnr_ssim import psnr, ssim


def _save(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _pixels(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _noisy(pixels: np.ndarray, seed: int, amount: int = 20) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(-amount, amount + 1, pixels.shape)
    return np.clip(pixels.astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def pairs(tmp_path: Path) -> list[tuple[Path, Path]]:
    out = []
    for i, (h, w) in enumerate([(21, 30), (16, 16), (19, 23)]):
        gt = _pixels(h, w, seed=i)
        out.append((_save(tmp_path / "lq" / f"img{i}.png", _noisy(gt, seed=10 + i)),
                    _save(tmp_path / "gt" / f"img{i}.png", gt)))
    return out


def test_identity_network_scores_exactly_its_input(pairs, tmp_path: Path, scaled_net) -> None:
    cfg = EvalConfig(y_channel=True, crop_border=2, save_images=True)
    report = evaluate_model(scaled_net(1.0), pairs, cfg, save_dir=tmp_path / "eval", progress=False)
    expected = [psnr(read_image(lq), read_image(gt), 2, True) for lq, gt in pairs]
    assert [r["psnr"] for r in report["images"]] == pytest.approx(expected, abs=1e-9)
    assert [r["input_psnr"] for r in report["images"]] == pytest.approx(expected, abs=1e-9)
    assert report["mean"]["psnr"] == pytest.approx(sum(expected) / 3, abs=1e-9)
    assert report["mean"]["ssim"] == pytest.approx(report["mean"]["input_ssim"], abs=1e-12)
    on_disk = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert on_disk["mean"]["psnr"] == pytest.approx(sum(expected) / 3, abs=1e-9)
    assert [r["name"] for r in on_disk["images"]] == ["img0", "img1", "img2"]
    assert on_disk["images"][0]["lq_path"] == str(pairs[0][0])
    md = (tmp_path / "eval" / "metrics.md").read_text()
    assert "| image | PSNR (dB) | SSIM | input PSNR (dB) | input SSIM |" in md
    assert f"| **mean** | **{sum(expected) / 3:.2f}**" in md and "Y (BT.601)" in md
    saved = np.asarray(Image.open(tmp_path / "eval" / "img1.png"))  # identity: restored == input
    assert np.array_equal(saved, np.asarray(Image.open(pairs[1][0])))


class _DictDataset:
    """Mimics PairedImageDataset: dict items and a `pairs` list with the file paths."""

    def __init__(self, pairs: list[tuple[Path, Path]]) -> None:
        self.pairs = [type("Pair", (), {"lq": lq, "gt": gt}) for lq, gt in pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict:
        def t(p: Path) -> torch.Tensor:
            return torch.from_numpy(read_image(p)).permute(2, 0, 1)

        return {"lq": t(self.pairs[i].lq), "gt": t(self.pairs[i].gt), "name": f"n{i}", "index": i}


def test_dataset_items_are_restored_and_scored(pairs, scaled_net) -> None:
    model = scaled_net(0.8)
    model.train()
    report = evaluate_model(model, _DictDataset(pairs), EvalConfig(tile=8, tile_overlap=2), progress=False)
    assert model.training  # mode restored
    for row, (lq, gt) in zip(report["images"], pairs):
        restored = read_image(lq) * 0.8
        assert row["psnr"] == pytest.approx(psnr(restored, read_image(gt)), abs=1e-6)
        assert row["ssim"] == pytest.approx(ssim(restored, read_image(gt)), abs=1e-6)
        assert row["gt_path"] == str(gt)
    assert report["mean"]["psnr"] < report["mean"]["input_psnr"]  # darkening hurts


def test_identical_pairs_write_inf_as_a_string(tmp_path: Path, scaled_net) -> None:
    img = _save(tmp_path / "x.png", _pixels(16, 16, seed=0))
    report = evaluate_model(scaled_net(1.0), [(img, img)], EvalConfig(), save_dir=tmp_path / "r", progress=False)
    assert report["mean"]["psnr"] == math.inf
    on_disk = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert on_disk["mean"]["psnr"] == "inf" and on_disk["images"][0]["input_psnr"] == "inf"
    assert "**inf**" in (tmp_path / "r" / "metrics.md").read_text()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for i in range(2):
        clean = _pixels(16, 20, seed=i)
        _save(gt / f"im{i}.png", clean)
        _save(pred / f"im{i}.png", _noisy(clean, seed=5 + i))
    _save(pred / "extra.png", _pixels(16, 16, seed=9))          # no ground truth
    _save(gt / "lonely.png", _pixels(16, 16, seed=8))           # no prediction
    _save(gt / "wrong.png", _pixels(16, 16, seed=7))
    _save(pred / "wrong.png", _pixels(17, 16, seed=7))          # size mismatch
    return pred, gt


def test_compare_folders_scores_matches_and_lists_every_problem(folders) -> None:
    pred, gt = folders
    report = compare_folders(pred, gt, y_channel=False, crop_border=1)
    assert [r["name"] for r in report["images"]] == ["im0", "im1"]
    expected = [psnr(read_image(pred / f"im{i}.png"), read_image(gt / f"im{i}.png"), 1) for i in range(2)]
    assert report["mean"]["psnr"] == pytest.approx(np.mean(expected), abs=1e-9)
    text = "\n".join(report["problems"])
    assert len(report["problems"]) == 3
    for path in (pred / "extra.png", gt / "lonely.png", pred / "wrong.png", gt / "wrong.png"):
        assert str(path) in text
    assert "16x17" in text and "16x16" in text


def test_compare_folders_with_nothing_in_common_is_an_error(tmp_path: Path) -> None:
    _save(tmp_path / "p" / "a.png", _pixels(16, 16, 0))
    _save(tmp_path / "g" / "b.png", _pixels(16, 16, 0))
    with pytest.raises(DataError, match=r"(?s)no image pairs.*a\.png.*b\.png"):
        compare_folders(tmp_path / "p", tmp_path / "g")


def test_metrics_cli_prints_table_writes_json_and_flags_unmatched(folders, tmp_path: Path) -> None:
    pred, gt = folders
    app = typer.Typer()
    app.callback()(lambda: None)
    register_metrics(app)
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["metrics", "--pred", str(pred), "--gt", str(gt), "--y-channel", "--out", str(out)])
    assert result.exit_code == 1, result.output
    expected = np.mean([psnr(read_image(pred / f"im{i}.png"), read_image(gt / f"im{i}.png"), y_channel=True)
                        for i in range(2)])
    flat = "".join(result.output.split())  # rich wraps long paths at the terminal width
    assert f"{expected:.2f}" in flat and "im0" in flat and str(pred / "extra.png") in flat
    written = json.loads(out.read_text())
    assert written["mean"]["psnr"] == pytest.approx(expected, abs=1e-9) and written["y_channel"] is True
    assert len(written["problems"]) == 3


def test_compare_folders_pairs_rain200_ddn_and_sidd_names(tmp_path: Path) -> None:
    clean = {k: _pixels(16, 16, seed=i) for i, k in enumerate(("norain-1", "norain-2", "3", "0001_GT_SRGB_010"))}
    for layout, preds, gt_name in (("rain200", ["norain-1x2"], "norain-1"),
                                   ("ddn", ["3_1", "3_14"], "3"),
                                   ("sidd", ["0001_NOISY_SRGB_010"], "0001_GT_SRGB_010")):
        root = tmp_path / layout
        _save(root / "gt" / f"{gt_name}.png", clean[gt_name])
        for j, name in enumerate(preds):
            _save(root / "pred" / f"{name}.png", _noisy(clean[gt_name], seed=j))
        with pytest.raises(DataError):  # by identical names nothing pairs
            compare_folders(root / "pred", root / "gt")
        report = compare_folders(root / "pred", root / "gt", layout=layout)
        assert sorted(r["name"] for r in report["images"]) == sorted(preds) and not report["problems"]
        assert {r["gt_path"] for r in report["images"]} == {str(root / "gt" / f"{gt_name}.png")}
    by_pattern = compare_folders(tmp_path / "rain200" / "pred", tmp_path / "rain200" / "gt", pattern=r"^(.*)x2$")
    assert by_pattern["count"] == 1
    with pytest.raises(DataError, match="group"):
        compare_folders(tmp_path / "rain200" / "pred", tmp_path / "rain200" / "gt", pattern=r"x2")


def test_csv_export_has_one_row_per_image_with_the_json_values(pairs, tmp_path: Path, scaled_net) -> None:
    import csv

    report = evaluate_model(scaled_net(0.9), pairs, EvalConfig(save_images=True), save_dir=tmp_path / "ev",
                            progress=False)
    with (tmp_path / "ev" / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == [r["name"] for r in report["images"]]
    for row, expected in zip(rows, report["images"]):
        for key in ("psnr", "ssim", "input_psnr", "input_ssim"):
            assert float(row[key]) == pytest.approx(expected[key], rel=1e-12)
        assert row["restored_path"] == str(tmp_path / "ev" / f"{expected['name']}.png")
        assert Path(row["restored_path"]).is_file() and row["lq_path"] == expected["lq_path"]
