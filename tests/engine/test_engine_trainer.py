"""Single-process training: exact resume, outputs of a run (artifact, histories, checkpoints), CLI."""
import json

import pytest
import torch
import yaml
from accelerate.utils import set_seed
from safetensors.torch import load_file
from typer.testing import CliRunner

from _engine_fixtures import TINY, NoisyPlain, TwoNetMethod, fake_build_experiment, loaders, make_cfg
from samdistill.models.artifact import load_model_artifact
from samdistill.engine.checkpoint import list_checkpoints
from samdistill.engine.trainer import Trainer


def _run(out, crash_at=None, resume=False, **train):
    cfg = make_cfg(str(out), **train)
    set_seed(cfg.seed)
    method = NoisyPlain(crash_at=crash_at)
    train_loader, val_loader = loaders()
    return Trainer(cfg, method, train_loader, val_loader).fit(resume=resume)


@pytest.mark.parametrize("stop", [10, 12])  # 6 batches per epoch: mid-epoch and at an epoch boundary
def test_resumed_run_ends_with_bit_identical_weights(tmp_path, stop):
    straight = _run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", crash_at=stop, save_every=stop)
    assert [s for s, _ in list_checkpoints(tmp_path / "b")] == [stop]
    resumed = _run(tmp_path / "b", resume=True, save_every=stop)

    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed == straight  # same final PSNR/SSIM and last logged loss
    hist_a = json.loads((tmp_path / "a" / "train_history.json").read_text())
    hist_b = json.loads((tmp_path / "b" / "train_history.json").read_text())
    assert [r["step"] for r in hist_b] == [5, 10, 15, 20] and hist_a == hist_b


def test_resume_equality_is_sensitive_to_the_data_position(tmp_path):
    # Control for the test above: a resume that restarts the epoch instead of skipping the
    # consumed batches must NOT reproduce the uninterrupted run.
    _run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", crash_at=10, save_every=10)
    state_file = list_checkpoints(tmp_path / "b")[-1][1] / "state.json"
    meta = json.loads(state_file.read_text())
    assert (meta["epoch"], meta["batch_in_epoch"]) == (1, 4)
    state_file.write_text(json.dumps(dict(meta, batch_in_epoch=0)))
    _run(tmp_path / "b", resume=True, save_every=10)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_run_outputs_artifact_histories_and_checkpoints(tmp_path):
    cfg = make_cfg(str(tmp_path), steps=6, val_every=3, save_every=3, log_every=2, tensorboard=True)
    set_seed(0)
    method = TwoNetMethod()
    initial_ir1 = {k: v.clone() for k, v in method.ir1.state_dict().items()}
    result = Trainer(cfg, method, *loaders(n_val=5)).fit()

    net = load_model_artifact(tmp_path / "model.safetensors")
    assert set(net.state_dict()) == set(initial_ir1)  # IR1 only: no ir2 / relation_net
    assert any(not torch.equal(net.state_dict()[k], initial_ir1[k]) for k in initial_ir1)
    val = json.loads((tmp_path / "val_history.json").read_text())
    assert [r["step"] for r in val] == [3, 6] and all(r["images"] == 5 for r in val)
    assert {"psnr", "ssim", "ir2_psnr", "ir2_ssim"} <= set(val[-1])
    assert result["psnr"] == val[-1]["psnr"] and result["step"] == 6
    ckpts = list_checkpoints(tmp_path)
    assert [s for s, _ in ckpts] == [3, 6]
    saved = load_file(str(ckpts[-1][1] / "method.safetensors"))
    assert any(k.startswith("ir2.") for k in saved) and not any(k.startswith("relation_net.") for k in saved)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["train"]["steps"] == 6
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))


def test_cli_train_converts_epochs_to_steps(tmp_path, monkeypatch):
    from samdistill.cli.main import app

    monkeypatch.setattr("samdistill.build.build_experiment", fake_build_experiment)
    cfg_file = tmp_path / "exp.yaml"
    cfg_file.write_text(yaml.safe_dump({"model": {"name": TINY, "args": {"width": 4}},
                                        "train": {"tensorboard": False, "progress": False}}))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", str(cfg_file), "--epochs", "2", "--output-dir", str(out),
                                   "train.val_every=0", "train.log_every=4"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["steps"] == 12  # 2 epochs x 6 batches
    assert (out / "model.safetensors").is_file()
    bad = CliRunner().invoke(app, ["train", "--config", str(cfg_file), "train.nope=1"])
    assert bad.exit_code == 2 and "train.nope" in bad.output
