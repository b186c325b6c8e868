"""`samdistill train` never trains over another run, and never resumes another configuration silently."""
import yaml
from typer.testing import CliRunner

from _engine_fixtures import TINY, fake_build_experiment
from samdistill.cli.main import app
from samdistill.engine.run_folder import config_differences


def _setup(tmp_path, monkeypatch):
    monkeypatch.setattr("samdistill.build.build_experiment", fake_build_experiment)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}},
                                        "train": {"tensorboard": False, "progress": False, "steps": 4,
                                                  "val_every": 0, "save_every": 2}}))
    return cfg_file, tmp_path / "run"


def test_a_second_run_into_the_same_folder_is_refused_until_overwrite(tmp_path, monkeypatch):
    cfg_file, out = _setup(tmp_path, monkeypatch)
    args = ["train", "-c", str(cfg_file), "-o", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    (out / "notes.txt").write_text("mine")
    first = (out / "model.safetensors").read_bytes()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2
    flat = " ".join(again.output.split())
    assert str(out) in flat and "--resume" in flat and "--overwrite" in flat
    assert (out / "model.safetensors").read_bytes() == first  # nothing lost
    over = CliRunner().invoke(app, args + ["--overwrite", "seed=1"])
    assert over.exit_code == 0, over.output
    assert (out / "notes.txt").read_text() == "mine"  # not a run file: kept
    assert yaml.safe_load((out / "config.yaml").read_text())["seed"] == 1


def test_resume_refuses_another_config_unless_forced(tmp_path, monkeypatch):
    cfg_file, out = _setup(tmp_path, monkeypatch)
    assert CliRunner().invoke(app, ["train", "-c", str(cfg_file), "-o", str(out)]).exit_code == 0
    longer = CliRunner().invoke(app, ["train", "-c", str(cfg_file), "-o", str(out), "--resume", "train.steps=6"])
    assert longer.exit_code == 0, longer.output  # training length may change
    other = CliRunner().invoke(app, ["train", "-c", str(cfg_file), "-o", str(out), "--resume", "train.steps=8",
                                     "train.optimizer.lr=0.5"])
    assert other.exit_code == 2 and "train.optimizer.lr" in " ".join(other.output.split())
    forced = CliRunner().invoke(app, ["train", "-c", str(cfg_file), "-o", str(out), "--resume", "--force",
                                      "train.steps=8", "train.optimizer.lr=0.5"])
    assert forced.exit_code == 0, forced.output


def test_config_differences_ignore_training_length_only():
    old = {"seed": 0, "train": {"steps": 4, "optimizer": {"lr": 1e-3}}, "output_dir": "a"}
    new = {"seed": 0, "train": {"steps": 9, "optimizer": {"lr": 2e-3}}, "output_dir": "b"}
    assert config_differences(old, new) == ["train.optimizer.lr: 0.001 -> 0.002"]
