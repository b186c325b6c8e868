from typer.testing import CliRunner

from samdistill.cli.main import app

runner = CliRunner()


def test_check_clean_dataset_exit_0(tmp_path, save_image):
    for i in (1, 2):
        save_image(tmp_path / f"norain/norain-{i}.png")
        save_image(tmp_path / f"rain/X2/norain-{i}x2.png")
    result = runner.invoke(app, ["data", "check", "--layout", "rain200", "--root", str(tmp_path), "--crop-size", "16"])
    assert result.exit_code == 0, result.output
    assert "good: 2" in result.output and "problems: 0" in result.output


def test_check_lists_every_problem_exit_1(tmp_path, save_image):
    save_image(tmp_path / "input/a.png")
    save_image(tmp_path / "target/a.png")
    save_image(tmp_path / "input/orphan.png")
    (tmp_path / "target/orphan2.png").write_bytes(b"junk")
    save_image(tmp_path / "input/size.png", size=(8, 8))
    save_image(tmp_path / "target/size.png", size=(8, 9))
    result = runner.invoke(app, ["data", "check", "--layout", "restormer", "--root", str(tmp_path), "--crop-size", "0"])
    assert result.exit_code == 1, result.output
    assert "3 problem(s)" in result.output
    assert f"unmatched LQ: {tmp_path / 'input/orphan.png'}" in result.output
    assert f"unmatched GT: {tmp_path / 'target/orphan2.png'}" in result.output
    assert f"size mismatch: LQ {tmp_path / 'input/size.png'}" in result.output


def test_check_missing_root_exit_2(tmp_path):
    result = runner.invoke(app, ["data", "check", "--layout", "gopro", "--root", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "folder not found" in result.output


def test_check_invalid_options_exit_2(tmp_path):
    result = runner.invoke(app, ["data", "check", "--layout", "folders", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "lq_dir and gt_dir" in result.output


def test_build_embedded_prints_location(embedded_cache):
    result = runner.invoke(app, ["data", "build-embedded", "embedded-noise", "--cache-dir", str(embedded_cache)])
    assert result.exit_code == 0, result.output
    assert str(embedded_cache / "embedded-noise" / "v1") in result.output and "4 test" in result.output


def test_build_embedded_unknown_name_exit_2(tmp_path):
    result = runner.invoke(app, ["data", "build-embedded", "embedded-fog", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 2 and "embedded-fog" in result.output


def test_check_lists_every_image_smaller_than_the_crop(tmp_path, save_image):
    """Issue 22, item 4: an image smaller than the training crop is a problem data check names."""
    for name, size in (("big", (64, 64)), ("small", (48, 80)), ("tiny", (8, 8))):
        save_image(tmp_path / "input" / f"{name}.png", size=size)
        save_image(tmp_path / "target" / f"{name}.png", size=size)
    result = runner.invoke(app, ["data", "check", "--layout", "restormer", "--root", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "2 problem(s)" in result.output
    for name, size in (("small", "48x80"), ("tiny", "8x8")):
        assert f"smaller than the crop: {tmp_path / 'input' / (name + '.png')} is {size} (WxH)" in result.output
    assert "64x64 training crop (data.crop_size)" in result.output
    relaxed = runner.invoke(app, ["data", "check", "--layout", "restormer", "--root", str(tmp_path), "--crop-size", "8"])
    assert relaxed.exit_code == 0, relaxed.output
