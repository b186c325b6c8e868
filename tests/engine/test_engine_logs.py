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
    lines = [m for m in messages if m.startswith("step ")]
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
    assert not [m for m in _messages(caplog) if m.startswith("step ")]


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

    def interrupted_at_step_3(cfg):
        set_seed(cfg.seed)
        return NoisyPlain(crash_at=3), *loaders()

    monkeypatch.setattr("samdistill.build.build_experiment", interrupted_at_step_3)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}},
                                        "train": {"tensorboard": False, "steps": 8, "save_every": 0}}))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", str(cfg_file), "--output-dir", str(out)])
    assert res.exit_code == 130 and "Traceback" not in res.output
    assert "training interrupted" in res.output
    assert f"the last good state (step 3) is saved in {out / 'checkpoints' / 'step_0000003'}" in res.output
    assert "samdistill train --resume" in res.output
