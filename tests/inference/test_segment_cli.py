"""`samdistill segment`: files written from an artifact or a SegFormer folder, and one-line errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.inference.segment import load_segmenter, segment_image

runner = CliRunner()


def _pano(path: Path, height: int = 32, width: int = 96, seed: int = 0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1
    for needle in needles:
        assert needle in "".join(result.output.split()), (needle, result.output)


def test_segment_cli_writes_labels_and_colors(tmp_path: Path, tiny_segformer_artifact) -> None:
    ckpt, net = tiny_segformer_artifact()
    _pano(tmp_path / "in" / "a.png")
    _pano(tmp_path / "in" / "b.png", seed=1)
    res = runner.invoke(app, ["segment", str(tmp_path / "in"), str(tmp_path / "out"), "-m", str(ckpt),
                              "--sliding", "32x24", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "segmented 2 image(s) (sliding 32x24)" in res.output
    from samdistill.data.io import read_image

    for name in ("a", "b"):
        label = np.array(Image.open(tmp_path / "out" / f"{name}_labelTrainIds.png"))
        expected = segment_image(net, read_image(tmp_path / "in" / f"{name}.png"), sliding=(32, 24))
        np.testing.assert_array_equal(label, expected)
        assert np.array(Image.open(tmp_path / "out" / f"{name}_color.png")).shape == (32, 96, 3)


def test_segment_cli_reads_a_hugging_face_folder(tmp_path: Path, tiny_segformer_artifact) -> None:
    _, net = tiny_segformer_artifact()
    net.save_pretrained(tmp_path / "hf")
    image = _pano(tmp_path / "p.png")
    res = runner.invoke(app, ["segment", str(image), str(tmp_path / "out"), "-m", str(tmp_path / "hf"), "--no-overlay"])
    assert res.exit_code == 0, res.output
    from samdistill.data.io import read_image

    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "out" / "p_labelTrainIds.png")),
                                  segment_image(load_segmenter(tmp_path / "hf"), read_image(image)))


def test_segment_cli_errors(tmp_path: Path, tiny_segformer_artifact, artifact) -> None:
    ckpt, _ = tiny_segformer_artifact()
    image = _pano(tmp_path / "p.png")
    out = str(tmp_path / "out")
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(tmp_path / "none.safetensors")]),
                    "none.safetensors", "notfound")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(ckpt.read_bytes()[:200])
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(corrupt)]), "corrupt.safetensors",
                    "truncatedorcorrupt")
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(artifact(1.0))]),
                    "restorationnetwork,notasegmenter", "samdistillrestore")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"\0" * 64)
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(plain)]), "plain.bin")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    _one_line_error(runner.invoke(app, ["segment", str(broken), out, "-m", str(ckpt)]), "broken.png",
                    "cannotsegment")
    _one_line_error(runner.invoke(app, ["segment", str(tmp_path / "nope.png"), out, "-m", str(ckpt)]), "nope.png")
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(ckpt), "--sliding", "200x100"]),
                    "p.png", "narrowerthanonewindow")
    bad = runner.invoke(app, ["segment", str(image), out, "-m", str(ckpt), "--sliding", "32by8"])
    assert bad.exit_code == 2 and "WINDOWxSTRIDE" in bad.output
    folder = tmp_path / "not_hf"
    folder.mkdir()
    _one_line_error(runner.invoke(app, ["segment", str(image), out, "-m", str(folder)]), "not_hf", "config.json")


def test_segment_cli_skips_a_tiny_and_a_corrupt_image_and_segments_the_rest(tmp_path: Path,
                                                                            tiny_segformer_artifact) -> None:
    """Issue 22, item 5: one bad image of a folder (1x1, or not an image) is one line naming it; the
    other images are segmented; the exit code (2) says some failed."""
    ckpt, _ = tiny_segformer_artifact()
    folder = tmp_path / "in"
    _pano(folder / "a.png")
    _pano(folder / "c.png", seed=2)
    _pano(folder / "tiny.png", height=1, width=1)
    (folder / "corrupt.png").write_bytes(b"\x89PNG not really")
    res = runner.invoke(app, ["segment", str(folder), str(tmp_path / "out"), "-m", str(ckpt), "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    flat = "".join(res.output.split())
    assert "2of4image(s)couldnotbesegmented" in flat
    for bad in ("tiny.png", "corrupt.png"):
        lines = [ln for ln in res.output.splitlines() if bad in ln]
        assert lines, res.output
    assert "tiny.png:" in flat and "1x1" in flat
    for good in ("a", "c"):
        assert (tmp_path / "out" / f"{good}_labelTrainIds.png").is_file()
        assert (tmp_path / "out" / f"{good}_color.png").is_file()
    assert not (tmp_path / "out" / "tiny_labelTrainIds.png").exists()
