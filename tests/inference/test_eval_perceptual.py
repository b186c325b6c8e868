"""`samdistill eval` with FID and LPIPS: skipped with a one-line reason without weight files, in the
report with them (random weights in the real file formats, read through the real loaders)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.evaluate import register
from samdistill.data.io import read_image


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(36, 40), (33, 44)]):  # LPIPS-alex needs at least 31x31
        gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        lq = np.clip(gt.astype(int) + rng.integers(-40, 41, gt.shape), 0, 255).astype(np.uint8)
        for sub, pixels in (("lq", lq), ("gt", gt)):
            (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / "data" / sub / f"p{i}.png")
    cfg = {"output_dir": str(tmp_path / "run"),
           "data": {"val": {"layout": "folders", "root": str(tmp_path / "data"), "lq_dir": "lq", "gt_dir": "gt"}}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory) -> dict[str, Path]:
    from samdistill.metrics.fid_inception import save_random_fid_inception
    from samdistill.metrics.lpips import save_random_lpips

    root = tmp_path_factory.mktemp("weights")
    trunk, linear = save_random_lpips("alex", root / "alexnet-owt-7be5be79.pth", root / "alex.pth")
    return {"fid": save_random_fid_inception(root / "pt_inception-2015-12-05-6726825d.pth"),
            "trunk": trunk, "linear": linear}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_without_weight_files_fid_and_lpips_are_skipped_in_one_line(experiment: Path, tmp_path: Path,
                                                                     artifact) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(_app(), ["eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0)),
                                         "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "skipped" in line]
    assert len(lines) == 1
    assert "FID (no --fid-weights" in lines[0] and "LPIPS (no --lpips-weights" in lines[0]
    report = json.loads((out / "metrics.json").read_text())
    assert "fid" not in report and "lpips" not in report["images"][0] and "lpips" not in report["mean"]


def test_with_weight_files_fid_and_lpips_are_in_the_report(experiment: Path, tmp_path: Path, artifact,
                                                           weight_files, monkeypatch) -> None:
    import samdistill.metrics.fid as fidmod
    from samdistill.metrics.fid import InceptionFeatures, fid_from_features
    from samdistill.metrics.lpips import LPIPS

    monkeypatch.setattr(fidmod, "FID_METHOD", "svd")  # the same distance without a 2048x2048 sqrtm (~30 s on 1 CPU)
    out = tmp_path / "report"
    result = CliRunner().invoke(_app(), [
        "eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0)), "--out", str(out), "--device", "cpu",
        "--fid-weights", str(weight_files["fid"]), "--fid-resize", "clean-fid",
        "--lpips-weights", f"{weight_files['trunk']},{weight_files['linear']}"])
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output and "FID restored vs GT" in result.output
    report = json.loads((out / "metrics.json").read_text())

    data = tmp_path / "data"
    lq = [read_image(data / "lq" / f"p{i}.png") for i in range(2)]
    gt = [read_image(data / "gt" / f"p{i}.png") for i in range(2)]
    metric = LPIPS.from_weights("alex", weight_files["trunk"], weight_files["linear"])
    expected = [float(metric.lpips(torch.from_numpy(np.moveaxis(a, 2, 0).copy()),
                                   torch.from_numpy(np.moveaxis(b, 2, 0).copy()))[0]) for a, b in zip(lq, gt)]
    got = {r["name"]: (r["lpips"], r["input_lpips"]) for r in report["images"]}
    for i in range(2):  # the identity network: restored == input
        assert got[f"p{i}"][0] == pytest.approx(expected[i], rel=1e-5) and expected[i] > 0
        assert got[f"p{i}"][1] == pytest.approx(expected[i], rel=1e-5)
    assert report["lpips_net"] == "alex" and report["mean"]["lpips"] == pytest.approx(np.mean(expected), rel=1e-5)

    fid = report["fid"]
    assert fid["resize"] == "clean-fid" and "clean-fid resize" in fid["mode"] and fid["count"] == 2
    assert fid["weights"] == "pt_inception-2015-12-05-6726825d.pth"
    assert any("fewer images than dimensions" in note for note in fid["notes"])
    extractor = InceptionFeatures.from_weights(weight_files["fid"], resize="clean-fid")
    with pytest.warns(UserWarning):
        direct = fid_from_features(extractor.features(lq), extractor.features(gt), method="svd")
    assert fid["input"] == pytest.approx(direct.value, rel=1e-6) and fid["input"] > 0
    assert fid["restored"] == pytest.approx(fid["input"], rel=1e-6)
    markdown = (out / "metrics.md").read_text()
    assert "| LPIPS |" in markdown and "clean-fid resize" in markdown and f"{fid['restored']:.3f}" in markdown


def test_bad_perceptual_options_are_one_line_errors(experiment: Path, artifact, weight_files, tmp_path: Path) -> None:
    base = ["eval", "--config", str(experiment), "--checkpoint", str(artifact(1.0)), "--device", "cpu",
            "--out", str(tmp_path / "r")]
    one = CliRunner().invoke(_app(), base + ["--lpips-weights", str(weight_files["trunk"])])
    assert one.exit_code == 2 and "TRUNK,LINEAR" in one.output
    wrong = CliRunner().invoke(_app(), base + ["--fid-weights", str(weight_files["trunk"])])
    assert wrong.exit_code == 2 and "missing key(s)" in " ".join(wrong.output.split())
    mode = CliRunner().invoke(_app(), base + ["--fid-resize", "bicubic"])
    assert mode.exit_code == 2 and "pytorch-fid, clean-fid" in mode.output
