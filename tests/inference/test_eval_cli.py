"""`samdistill eval`: a checkpoint over a config's data.val dataset, with overrides, to JSON + Markdown."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.evaluate import register
from samdistill.data.io import read_image
from samdistill.metrics.psnr_ssim import psnr, ssim


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(20, 28), (17, 17)]):
        gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        lq = np.clip(gt.astype(int) + rng.integers(-25, 26, gt.shape), 0, 255).astype(np.uint8)
        for sub, pixels in (("lq", lq), ("gt", gt)):
            (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / "data" / sub / f"p{i}.png")
    cfg = {"output_dir": str(tmp_path / "run"),
           "data": {"val": {"layout": "folders", "root": str(tmp_path / "data"), "lq_dir": "lq", "gt_dir": "gt"}},
           "eval": {"crop_border": 1}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_eval_writes_json_and_markdown_with_the_input_baseline(experiment: Path, tmp_path: Path, artifact) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(_app(), ["eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0)),
                                         "--out", str(out), "--device", "cpu", "eval.y_channel=true"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "metrics.json").read_text())
    data = tmp_path / "data"
    expected = {f"p{i}": psnr(read_image(data / "lq" / f"p{i}.png"), read_image(data / "gt" / f"p{i}.png"), 1, True)
                for i in range(2)}
    assert {r["name"]: r["psnr"] for r in report["images"]} == pytest.approx(expected, abs=1e-9)
    assert report["y_channel"] is True and report["crop_border"] == 1
    # identity network: restored scores == input scores
    assert report["mean"]["psnr"] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)
    assert report["mean"]["input_psnr"] == pytest.approx(report["mean"]["psnr"], abs=1e-9)
    expected_ssim = np.mean([ssim(read_image(data / "lq" / f"p{i}.png"), read_image(data / "gt" / f"p{i}.png"), 1, True)
                             for i in range(2)])
    # eval scores SSIM in float32 (metrics/pair_scores.py), held within 1e-6 of the float64 reference
    assert report["mean"]["ssim"] == pytest.approx(expected_ssim, abs=1e-6)
    assert f"**{expected_ssim:.4f}**" in (out / "metrics.md").read_text()


def test_eval_defaults_to_the_run_folder_and_reports_bad_overrides(experiment: Path, tmp_path: Path, artifact) -> None:
    ok = CliRunner().invoke(_app(), ["eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0))])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "run" / "eval" / "metrics.md").is_file()
    bad = CliRunner().invoke(_app(), ["eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0)),
                                      "eval.crop_bordr=3"])
    assert bad.exit_code == 2 and "eval.crop_bordr" in "".join(bad.output.split())


def test_eval_with_a_segmenter_adds_the_downstream_section(experiment: Path, tmp_path: Path, artifact) -> None:
    import torch

    from samdistill.models.artifact import save_model_artifact
    from samdistill.models.registry import create_backbone

    torch.manual_seed(0)
    seg = save_model_artifact(create_backbone("segformer", size="tiny", num_classes=19), "segformer",
                              {"size": "tiny", "num_classes": 19}, tmp_path / "seg.safetensors")
    out = tmp_path / "report"
    no_labels = CliRunner().invoke(_app(), ["eval", "-c", str(experiment), "-m", str(artifact(1.0)), "--out", str(out),
                                            "--device", "cpu", "--segmenter", str(seg)])
    assert no_labels.exit_code == 2 and "p0: the dataset gives no label" in " ".join(no_labels.output.split())
    labels = tmp_path / "labels"
    labels.mkdir()
    Image.fromarray(np.zeros((20, 28), np.uint8)).save(labels / "p0.png")
    too_small = CliRunner().invoke(_app(), ["eval", "-c", str(experiment), "-m", str(artifact(1.0)), "--out", str(out),
                                            "--device", "cpu", "--segmenter", str(seg), "--labels", str(labels)])
    assert too_small.exit_code == 2 and "p0: the segmenter failed on this 28x20" in " ".join(too_small.output.split())
    (labels / "p0.png").unlink()
    rng = np.random.default_rng(1)
    for i in range(2):  # images large enough for SegFormer's strides
        for sub in ("lq", "gt"):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "data" / sub / f"p{i}.png")
        Image.fromarray(np.full((64, 64), i, np.uint8)).save(labels / f"p{i}_labelTrainIds.png")
    result = CliRunner().invoke(_app(), ["eval", "-c", str(experiment), "-m", str(artifact(1.0)), "--out", str(out),
                                         "--device", "cpu", "--segmenter", str(seg), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "metrics.json").read_text())
    assert report["downstream"]["segmenter"] == str(seg) and report["downstream"]["classes"] == 19
    assert report["dataset"]["label"] == "folders:data" and set(report["downstream"]["per_image_confusion"]["gt"]) == {"p0", "p1"}
    # identity restorer: the restored images are the inputs, so they segment identically
    assert report["downstream"]["restored"] == report["downstream"]["input"]
    assert "Downstream segmentation" in result.output
    bad = CliRunner().invoke(_app(), ["eval", "-c", str(experiment), "-m", str(artifact(1.0)), "--out", str(out),
                                      "--device", "cpu", "--labels", str(labels)])
    assert bad.exit_code == 2 and "--segmenter" in bad.output
