"""`samdistill priors show` on a small PNG."""
import numpy as np
import typer
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli import priors as priors_cli


def _app():
    app = typer.Typer()
    priors_cli.register(app)
    return app


def _png(tmp_path):
    img = np.zeros((20, 24, 3), np.uint8)
    img[:, :12] = [220, 30, 30]
    img[:, 12:] = [20, 40, 200]
    path = tmp_path / "scene.png"
    Image.fromarray(img).save(path)
    return path


def test_show_writes_the_overlay_and_reports_the_segmenter(tmp_path):
    out = tmp_path / "out" / "overlay.png"
    result = CliRunner().invoke(_app(), ["priors", "show", str(_png(tmp_path)), "--out", str(out),
                                         f"priors.cache_dir={tmp_path / 'cache'}", "priors.offline.sigma=0"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (24, 20)
    assert "2 masks" in result.output and "offline felzenszwalb" in result.output
    assert str(out) in result.output
    assert list((tmp_path / "cache").rglob("*.json"))  # the masks went through the cache


def test_show_bad_override_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(_app(), ["priors", "show", str(_png(tmp_path)), "priors.num_masks=0"])
    assert result.exit_code == 2
    assert "priors.num_masks" in result.output


def test_show_missing_image_names_the_file(tmp_path):
    result = CliRunner().invoke(_app(), ["priors", "show", str(tmp_path / "nope.png"),
                                         f"priors.cache_dir={tmp_path}"])
    assert result.exit_code == 2 and "nope.png" in result.output


def test_precompute_command_reports_computed_then_cached(tmp_path):
    for sub in ("lq", "gt"):
        (tmp_path / "data" / sub).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 10, 3), 40 * i, np.uint8)).save(tmp_path / "data" / sub / f"{i}.png")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"data:\n  train: {{layout: folders, root: {tmp_path / 'data'}, lq_dir: lq, gt_dir: gt}}\n"
        f"priors: {{backend: offline, cache_dir: {tmp_path / 'cache'}}}\n"
    )
    args = ["priors", "precompute", "--config", str(cfg), "--no-progress"]
    first = CliRunner().invoke(_app(), args)
    assert first.exit_code == 0, first.output
    assert "3 computed, 0 already cached (3 of the 3 train images)" in first.output
    assert "offline felzenszwalb" in first.output
    second = CliRunner().invoke(_app(), args + ["priors.offline.scale=50"])  # new parameters: new entries
    assert "3 computed, 0 already cached" in second.output
    third = CliRunner().invoke(_app(), args)
    assert "0 computed, 3 already cached" in third.output


def test_show_writes_beside_the_image_not_into_the_working_directory(tmp_path, monkeypatch):
    """Issue 22, item 10: without --out the overlay goes next to the image."""
    images, cwd = tmp_path / "photos", tmp_path / "cwd"
    images.mkdir()
    cwd.mkdir()
    image = _png(images)
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(_app(), ["priors", "show", str(image), f"priors.cache_dir={tmp_path / 'cache'}"])
    assert result.exit_code == 0, result.output
    assert (images / "scene_masks.png").is_file()
    assert list(cwd.iterdir()) == []


def test_demo_output_folders_are_ignored_by_git():
    """Both demos' default report folders (cli/demo.py) are in .gitignore."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    ignored = (root / ".gitignore").read_text().split()
    demo_cli = (root / "src" / "samdistill" / "cli" / "demo.py").read_text()
    for folder in ("demo_report", "demo_pano_report"):
        assert folder in demo_cli
        assert f"{folder}/" in ignored
