"""Checkpoint round trip, atomicity (temp folders ignored, keep-last-K) and clear load errors."""
import json
from pathlib import Path
import random

import numpy as np
import pytest
import torch

from _engine_fixtures import TwoNetMethod
from samdistill.core.errors import CheckpointError
from samdistill.engine.checkpoint import (capture_rng_state, latest_checkpoint, list_checkpoints, load_checkpoint,
                                          load_method_state, load_optimizer_state, method_state_for_checkpoint,
                                          restore_rng_state, save_checkpoint)


def _trained(seed=0):
    torch.manual_seed(seed)
    method = TwoNetMethod()
    opt = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-2)
    batch = {"lq": torch.rand(2, 3, 8, 8), "gt": torch.rand(2, 3, 8, 8)}
    for _ in range(2):
        method(batch).loss.backward()
        opt.step()
        opt.zero_grad()
    return method, opt


def _save(out, step, method, opt, keep=2):
    state = method_state_for_checkpoint(method, method.frozen_prefixes())
    return save_checkpoint(out, step, state, opt.state_dict(), [capture_rng_state()], {"epoch": 1}, keep=keep)


def test_round_trip_restores_weights_optimizer_and_rng(tmp_path):
    method, opt = _trained()
    path = _save(tmp_path, 7, method, opt)
    draws = (random.random(), np.random.rand(), torch.rand(3))  # right after the captured state
    assert path.name == "step_0000007"
    ckpt = load_checkpoint(path)
    assert ckpt.step == 7 and ckpt.meta["epoch"] == 1
    assert not any(k.startswith("relation_net.") for k in ckpt.method_state)  # frozen: not saved

    fresh, fresh_opt = _trained(seed=1)
    load_method_state(fresh, ckpt.method_state, path, fresh.frozen_prefixes())
    load_optimizer_state(fresh_opt, ckpt.optimizer_state, path)
    for key, value in method.state_dict().items():
        if not key.startswith("relation_net."):
            assert torch.equal(fresh.state_dict()[key], value), key
    for p, q in zip(opt.param_groups[0]["params"], fresh_opt.param_groups[0]["params"]):
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][name], fresh_opt.state[q][name])
    assert fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)

    restore_rng_state(ckpt.rng_states[0])
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert draws[:2] == again[:2] and torch.equal(draws[2], again[2])


def test_latest_ignores_temp_and_incomplete_folders_and_keeps_last_k(tmp_path):
    method, opt = _trained()
    for step in (10, 20, 30):
        _save(tmp_path, step, method, opt, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [20, 30]
    root = tmp_path / "checkpoints"
    (root / ".tmp-step_0000099-1234").mkdir()             # a crash while writing
    (root / ".tmp-step_0000099-1234" / "state.json").write_text("{}")
    (root / "step_0000050").mkdir()                       # no state.json: not complete
    assert latest_checkpoint(tmp_path) == root / "step_0000030"
    _save(tmp_path, 40, method, opt)
    assert not (root / ".tmp-step_0000099-1234").exists()  # stale temp folders are cleaned


@pytest.mark.parametrize("name", ["method.safetensors", "optimizer.safetensors", "rng.safetensors"])
def test_truncated_file_raises_checkpoint_error_naming_it(tmp_path, name):
    method, opt = _trained()
    path = _save(tmp_path, 1, method, opt)
    data = (path / name).read_bytes()
    (path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=name):
        load_checkpoint(path)


def test_corrupt_state_json_and_mismatched_keys(tmp_path):
    method, opt = _trained()
    path = _save(tmp_path, 1, method, opt)
    ckpt = load_checkpoint(path)
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(CheckpointError, match=r"method\.safetensors.*missing 2 keys.*unexpected"):
        load_method_state(other, ckpt.method_state, path / "method.safetensors")
    wrong_opt = torch.optim.Adam(other.parameters())
    with pytest.raises(CheckpointError, match="optimizer.safetensors"):
        load_optimizer_state(wrong_opt, ckpt.optimizer_state, path / "optimizer.safetensors")
    text = (path / "state.json").read_text()
    (path / "state.json").write_text(text[:100])
    with pytest.raises(CheckpointError, match="state.json.*not valid JSON"):
        load_checkpoint(path)
    meta = json.loads(text)
    meta["optimizer"]["state"]["__intdict__"][0][1]["exp_avg"]["__tensor__"] = "nope"
    (path / "state.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="'nope'.*missing"):
        load_checkpoint(path)


@pytest.mark.parametrize("resave", [False, True])
def test_kill_while_deleting_a_checkpoint_never_leaves_a_partial_step_folder(tmp_path, monkeypatch, resave):
    """A kill in the middle of removing an old checkpoint (or the one a repeated step replaces):
    every step_N folder still listed must load."""
    import samdistill.engine.checkpoint as ck

    method, opt = _trained()
    for step in (10, 20):
        _save(tmp_path, step, method, opt)

    def killed_midway(folder, ignore_errors=False):
        (Path(folder) / "method.safetensors").unlink()  # deletion reached one file, then SIGKILL
        raise KeyboardInterrupt

    monkeypatch.setattr(ck.shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path, 20 if resave else 30, method, opt)
    monkeypatch.undo()
    found = list_checkpoints(tmp_path)
    assert found
    for _, path in found:
        load_checkpoint(path)
