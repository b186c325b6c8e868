"""What a run says: a start-up summary, "resumed from step N", progress as periodic lines when
stderr is not a terminal (a bar when it is)."""
import logging
import sys

import yaml
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from typer.testing import CliRunner

from _engine_fixtures import TINY, NoisyPlain, fake_build_experiment, loaders, make_cfg
from samdistill.engine.trainer import Trainer


def _fit(out, resume=False, **train):
    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = make_cfg(str(out), progress=True, **train)
    set_seed(cfg.seed)
    return Trainer(cfg, NoisyPlain(), *loaders()).fit(resume=resume)


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "samdistill.engine.trainer"]


def test_summary_periodic_lines_and_resume_message(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="samdistill"):
        _fit(tmp_path, steps=10, save_every=10)
    messages = _messages(caplog)
    summary = messages[0].splitlines()
    assert summary[0] == "training on cpu (1 process, no mixed precision)"
    assert summary[1] == "  data: train 12 items, 6 batches per epoch; validation 4 items"
    assert summary[2].startswith("  steps: to 10 ") and summary[3] == f"  output: {tmp_path}"
    lines = [m.split(": ", 1)[1] for m in messages if m.startswith(f"train {tmp_path.name}: step ")]
    assert [m.split(" (")[0] for m in lines] == ["step 5/10", "step 10/10"]
    assert " loss " in lines[0] and "steps/s" in lines[0]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="samdistill"):
        _fit(tmp_path, resume=True, steps=15, save_every=10)
    messages = _messages(caplog)
    assert messages[0] == f"resumed from step 10 ({tmp_path / 'checkpoints' / 'step_0000010'})"
    assert "  steps: from step 10 to 15 " in messages[1]


def test_on_a_terminal_a_bar_replaces_the_lines(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with caplog.at_level(logging.INFO, logger="samdistill"):
        _fit(tmp_path, steps=10)
    assert not [m for m in _messages(caplog) if "step " in m and "steps/s" in m]


def test_cli_train_prints_the_summary_and_progress(tmp_path, monkeypatch):
    from samdistill.cli.main import app

    monkeypatch.setattr("samdistill.build.build_experiment", fake_build_experiment)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}},
                                        "train": {"tensorboard": False, "steps": 8, "log_every": 4}}))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", str(cfg_file), "--output-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "training on cpu (1 process" in res.output and f"output: {out}" in res.output
    assert "step 4/8 (50%) loss" in res.output and "step 8/8 (100%)" in res.output


def test_cli_ctrl_c_names_the_saved_checkpoint_and_exits_130(tmp_path, monkeypatch):
    from samdistill.cli.main import app

    cfg_file, out, res = _train_interrupted_at_step_3(tmp_path, monkeypatch, app)
    assert res.exit_code == 130 and "Traceback" not in res.output
    assert "training interrupted" in res.output
    assert f"the last good state (step 3) is saved in {out / 'checkpoints' / 'step_0000003'}" in res.output
    assert "samdistill train --resume" in res.output


# ------------------------------------------------------------------ issue 22, items 3 and 8

def test_every_validation_prints_its_scores_in_file_log_mode(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="samdistill"):
        _fit(tmp_path, steps=10, val_every=5)
    shown = [m for m in _messages(caplog) if m.startswith("validation at step")]
    assert [m.split(":")[0] for m in shown] == ["validation at step 5", "validation at step 10"]
    history = __import__("json").loads((tmp_path / "val_history.json").read_text())
    assert f"psnr={history[0]['psnr']:.4g}" in shown[0] and "ssim=" in shown[0] and "images=4" in shown[0]


def test_scores_print_segmentation_in_percent():
    from samdistill.engine.trainer import score_line

    line = score_line({"step": 7, "miou": 0.0925, "pixel_acc": 0.6131, "ta_miou": 0.1, "iou_per_class": [0.1, None],
                       "psnr": 27.4123, "images": 4})
    assert line == "miou=9.25%, pixel_acc=61.31%, ta_miou=10.00%, psnr=27.41, images=4"


def test_done_line_prints_miou_in_percent(tmp_path, monkeypatch):
    from samdistill.cli.main import app

    monkeypatch.setattr("samdistill.engine.trainer.Trainer.fit", lambda self, resume=False: {"step": 8, "miou": 0.0925})
    monkeypatch.setattr("samdistill.build.build_experiment", fake_build_experiment)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}}, "train": {"tensorboard": False}}))
    res = CliRunner().invoke(app, ["train", "-c", str(cfg_file), "-o", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "done: step=8, miou=9.25%" in res.output


def test_ctrl_c_hint_is_resume_run_dir_and_that_form_works_without_a_config(tmp_path, monkeypatch):
    from samdistill.cli.main import app

    cfg_file, out, res = _train_interrupted_at_step_3(tmp_path, monkeypatch, app)
    assert res.exit_code == 130
    assert f"continue with `samdistill train --resume {out}`" in " ".join(res.output.split())

    monkeypatch.setattr("samdistill.build.build_experiment", fake_build_experiment)
    AcceleratorState._reset_state(reset_partial_state=True)
    res = CliRunner().invoke(app, ["train", "--resume", str(out)])
    assert res.exit_code == 0, res.output
    assert "resumed from step 3" in res.output and (out / "model.safetensors").is_file()


def test_train_without_a_config_says_what_to_give(tmp_path):
    from samdistill.cli.main import app

    res = CliRunner().invoke(app, ["train"])
    assert res.exit_code == 2 and "--config" in res.output and "--resume RUN_DIR" in res.output
    res = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "config.yaml not found" in " ".join(res.output.split())


def test_a_demo_stage_is_named_in_its_progress_lines(tmp_path, caplog):
    """Issue 22, item 3: without a terminal each log point of a stage is a line with the stage's name
    (the run folder: baseline, framework, stage1, ...) and what is left."""
    with caplog.at_level(logging.INFO, logger="samdistill"):
        _fit(tmp_path / "baseline", steps=10, val_every=5)
    lines = [m for m in _messages(caplog) if m.startswith("train baseline: step ")]
    assert [m.split(" (")[0] for m in lines] == ["train baseline: step 5/10", "train baseline: step 10/10"]
    assert all(m.endswith("s left") for m in lines)


def _train_interrupted_at_step_3(tmp_path, monkeypatch, app):
    """`samdistill train` on a tiny config whose method raises KeyboardInterrupt at step 3:
    (config file, run folder, CLI result)."""
    def interrupted_at_step_3(cfg):
        set_seed(cfg.seed)
        return NoisyPlain(crash_at=3), *loaders()

    monkeypatch.setattr("samdistill.build.build_experiment", interrupted_at_step_3)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}},
                                        "train": {"tensorboard": False, "steps": 8, "save_every": 0}}))
    out = tmp_path / "run"
    return cfg_file, out, CliRunner().invoke(app, ["train", "--config", str(cfg_file), "--output-dir", str(out)])
