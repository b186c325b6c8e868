"""`restore_path` / `samdistill restore`: names kept, inputs never overwritten, bad files reported."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.restore import register
from samdistill.data.io import read_image
from samdistill.inference.restore import RestoreError, restore_path


def _save(path: Path, h: int, w: int, seed: int) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    _save(folder / "a.png", 13, 17, seed=0)  # not a multiple of the network's 4
    _save(folder / "b.bmp", 8, 12, seed=1)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (folder / "notes.txt").write_text("not an image, ignored")
    (folder / "sub").mkdir()
    _save(folder / "sub" / "deep.png", 8, 8, seed=2)  # top level only
    return folder


def _half(path: Path) -> np.ndarray:
    return read_image(path) * 0.5 * 255


def test_folder_is_restored_with_names_kept_and_the_bad_file_reported(inputs: Path, tmp_path: Path, artifact) -> None:
    out = tmp_path / "out" / "nested"
    with pytest.raises(RestoreError, match=r"(?s)1 of 3 image\(s\).*2 written.*broken\.png") as info:
        restore_path(inputs, out, artifact(0.5), device="cpu", progress=False)
    assert str(inputs / "broken.png") in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    for src, dst in (("a.png", "a.png"), ("b.bmp", "b.png")):
        restored = np.asarray(Image.open(out / dst)).astype(np.float64)
        assert np.abs(restored - _half(inputs / src)).max() <= 0.5 + 1e-4  # x / 2, rounded to 8 bits


def test_tiled_restore_gives_the_same_files(inputs: Path, tmp_path: Path, artifact) -> None:
    (inputs / "broken.png").unlink()
    restore_path(inputs, tmp_path / "whole", artifact(0.5), progress=False)
    restore_path(inputs, tmp_path / "tiled", artifact(0.5), tile=8, overlap=2, suffix="_t", progress=False)
    for name in ("a", "b"):
        whole = np.asarray(Image.open(tmp_path / "whole" / f"{name}.png"))
        assert np.array_equal(np.asarray(Image.open(tmp_path / "tiled" / f"{name}_t.png")), whole)


def test_inputs_are_never_overwritten(inputs: Path, artifact) -> None:
    before = (inputs / "a.png").read_bytes()
    with pytest.raises(RestoreError, match="output folder is the input folder"):
        restore_path(inputs, inputs / "." , artifact(), progress=False)
    with pytest.raises(RestoreError, match=r"refusing to overwrite input.*a\.png"):
        restore_path(inputs / "a.png", inputs, artifact(), progress=False)
    with pytest.raises(RestoreError, match=r"refusing to overwrite input.*a\.png"):
        restore_path(inputs / "a.png", inputs / "a.png", artifact(), progress=False)
    assert (inputs / "a.png").read_bytes() == before
    restore_path(inputs / "a.png", inputs, artifact(), suffix="_restored", progress=False)
    assert (inputs / "a_restored.png").is_file() and (inputs / "a.png").read_bytes() == before


def test_two_inputs_with_one_output_name_are_refused(inputs: Path, tmp_path: Path, artifact) -> None:
    _save(inputs / "a.jpg", 8, 8, seed=3)
    with pytest.raises(RestoreError, match=r"a\.jpg and .*a\.png -> .*a\.png|a\.png and .*a\.jpg"):
        restore_path(inputs, tmp_path / "out", artifact(), progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_exits_2_listing_the_bad_file_after_restoring_the_rest(inputs: Path, tmp_path: Path, artifact) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    out = tmp_path / "cli_out"
    result = CliRunner().invoke(app, ["restore", str(inputs), str(out), "--checkpoint", str(artifact(0.5)),
                                      "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert str(inputs / "broken.png") in "".join(result.output.split())  # rich wraps long paths
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    missing = CliRunner().invoke(app, ["restore", str(inputs), str(out), "--checkpoint", str(tmp_path / "nope.safetensors")])
    assert missing.exit_code == 2 and "nope.safetensors" in "".join(missing.output.split())
