"""`samdistill data world`, `data show`, `data build-embedded embedded-street-*` from the command line."""
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.main import app

runner = CliRunner()
SMALL = ["--pinhole", "2", "--pinhole-val", "1", "--panoramas", "1", "--panoramas-val", "1",
         "--pinhole-size", "24x48", "--pano-size", "16x80", "--no-progress"]


def test_world_command_writes_both_layouts_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "w"
    result = runner.invoke(app, ["data", "world", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert len(list((out / "pinhole" / "leftImg8bit" / "train").rglob("*_leftImg8bit.png"))) == 2
    assert (out / "pano" / "gtFine" / "val" / "0_labelTrainIds.png").is_file()
    assert json.loads((out / "manifest.json").read_text())["config"]["pano_size"] == [16, 80]
    again = runner.invoke(app, ["data", "world", "--out", str(out), *SMALL])
    assert again.exit_code == 2 and "--overwrite" in again.output
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = runner.invoke(app, ["data", "world", "--out", str(other), "--overwrite", *SMALL])
    assert refused.exit_code == 2 and "not a street world" in refused.output
    assert (other / "notes.txt").read_text() == "keep me"


def test_world_command_rejects_a_bad_size(tmp_path):
    result = runner.invoke(app, ["data", "world", "--out", str(tmp_path / "w"), "--pano-size", "wide"])
    assert result.exit_code != 0 and "HEIGHTxWIDTH" in result.output


def test_show_draws_image_label_and_borders(small_world, tmp_path):
    image = sorted((small_world / "pano" / "leftImg8bit" / "val").glob("*.png"))[0]
    target = tmp_path / "show.png"
    result = runner.invoke(app, ["data", "show", str(image), "--out", str(target)])
    assert result.exit_code == 0, result.output
    panel = np.asarray(Image.open(target))
    assert panel.shape == (128, 3 * 640 + 2 * 4, 3)  # image | colors | borders with 4-px gaps
    label = np.asarray(Image.open(small_world / "pano" / "gtFine" / "val" / image.name.replace("_.png", "_labelTrainIds.png")))
    from samdistill.data.segmentation.labels import colorize

    np.testing.assert_array_equal(panel[:, 644:1284], colorize(label))


def test_show_reports_a_label_of_another_size(small_world, tmp_path):
    image = sorted((small_world / "pano" / "leftImg8bit" / "val").glob("*.png"))[0]
    wrong = tmp_path / "wrong_labelTrainIds.png"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(wrong)
    result = runner.invoke(app, ["data", "show", str(image), "--label", str(wrong), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "5x5" in result.output and str(wrong) in result.output


def test_street_rain_benchmark_pairs_with_ideal_masks(tmp_path, monkeypatch):
    import samdistill.world.embedded as we
    from samdistill.data.config import DatasetConfig
    from samdistill.data.layouts import find_pairs
    from samdistill.data.io import read_image
    from samdistill.priors.config import WorldSegmenterConfig
    from samdistill.priors.world import WorldSegmenter

    monkeypatch.setattr(we, "STREET_TRAIN", 3)
    monkeypatch.setattr(we, "STREET_TEST", 2)
    result = runner.invoke(app, ["data", "build-embedded", "embedded-street-rain", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pairs = find_pairs(DatasetConfig(layout="embedded", name="embedded-street-rain", split="train", cache_dir=str(tmp_path)))
    assert len(pairs) == 3
    root = tmp_path / "embedded-street-rain" / "v1"
    segmenter = WorldSegmenter(WorldSegmenterConfig(roots=[str(root)]))
    lq, gt = read_image(pairs[0].lq), read_image(pairs[0].gt)
    assert np.abs(lq - gt).mean() > 0.02  # it is rainy
    np.testing.assert_array_equal(segmenter(lq).masks, segmenter(gt).masks)
