"""Runs that survive bad data and never lose work: a file damaged during training stops the run
with a checkpoint of the last complete step and the file's name, a damaged validation image is
skipped, an error inside validation or Ctrl-C saves first; each saved state resumes exactly."""
import json
import logging

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from PIL import Image
from safetensors.torch import load_file

from _engine_fixtures import TINY, NoisyPlain, loaders, make_cfg
from samdistill.data.config import DataConfig, DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.loader import build_dataloader
from samdistill.engine.checkpoint import list_checkpoints
from samdistill.engine.trainer import Trainer
from samdistill.methods.plain import PlainRestoration


def _write_pairs(root, names):
    for i, name in enumerate(names):
        for sub, seed in (("lq", i), ("gt", 100 + i)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / sub / f"{name}.png")


@pytest.fixture
def folders(tmp_path):
    _write_pairs(tmp_path / "train", "abcd")
    _write_pairs(tmp_path / "val", "xyz")
    return tmp_path


def _loaders(root, num_workers=0):
    data = DataConfig(crop_size=8, batch_size=2, repeat=1, num_workers=num_workers)
    ds = {split: DatasetConfig(layout="folders", root=str(root / split), lq_dir="lq", gt_dir="gt",
                               cache_dir=str(root / "cache")) for split in ("train", "val")}
    return build_dataloader(ds["train"], data, train=True, seed=5), build_dataloader(ds["val"], data, train=False)


class Hooked(PlainRestoration):
    """Runs `action(step)` at each step start; `fail_validation_at` raises inside validation."""

    def __init__(self, action=None, fail_validation_at=None):
        super().__init__(TINY, {"width": 4})
        self.action, self.fail_validation_at, self.current = action, fail_validation_at, -1

    def on_step_start(self, step, trainer):
        self.current = step
        if self.action:
            self.action(step)

    def restore(self, lq):
        if self.fail_validation_at == self.current + 1:
            raise RuntimeError("simulated failure inside validation")
        return super().restore(lq)


def _fit(out, root, resume=False, num_workers=0, **kw):
    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = make_cfg(str(out), steps=8, val_every=2, **{k: v for k, v in kw.items() if k in ("save_every",)})
    set_seed(cfg.seed)
    method = Hooked(kw.get("action"), kw.get("fail_validation_at"))
    return Trainer(cfg, method, *_loaders(root, num_workers)).fit(resume=resume)


def _same_weights(a, b):
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_file_damaged_mid_run_stops_with_its_name_and_a_resumable_checkpoint(folders, tmp_path, caplog, num_workers):
    _fit(tmp_path / "straight", folders, num_workers=num_workers)
    damaged = folders / "train" / "lq" / "b.png"
    original = damaged.read_bytes()

    def damage(step):
        if step == 2:
            damaged.write_bytes(original[: len(original) * 3 // 4])

    with caplog.at_level(logging.ERROR, logger="samdistill.engine.trainer"):
        with pytest.raises(DataError, match=str(damaged)) as err:
            _fit(tmp_path / "run", folders, action=damage, num_workers=num_workers)
    assert "Traceback" not in str(err.value)  # one line, also when a loader worker raised it
    [(step, ckpt)] = list_checkpoints(tmp_path / "run")  # save_every=0: only the failure wrote one
    assert step >= 3
    assert str(damaged) in json.loads((ckpt / "state.json").read_text())["stopped_by"]
    assert f"the last good state (step {step}) is saved in {ckpt}" in caplog.text

    damaged.write_bytes(original)
    _fit(tmp_path / "run", folders, resume=True, num_workers=num_workers)
    assert _same_weights(tmp_path / "straight", tmp_path / "run")


def test_error_inside_validation_saves_and_the_resume_validates_again(folders, tmp_path):
    _fit(tmp_path / "straight", folders)
    with pytest.raises(RuntimeError, match="simulated failure inside validation"):
        _fit(tmp_path / "run", folders, fail_validation_at=4)
    [(step, ckpt)] = list_checkpoints(tmp_path / "run")
    assert step == 4 and json.loads((ckpt / "state.json").read_text())["pending_validation"] is True

    _fit(tmp_path / "run", folders, resume=True)
    assert _same_weights(tmp_path / "straight", tmp_path / "run")
    val = [json.loads((d / "val_history.json").read_text()) for d in (tmp_path / "straight", tmp_path / "run")]
    assert [r["step"] for r in val[1]] == [2, 4, 6, 8] and val[0] == val[1]


def test_unreadable_validation_image_is_reported_once_and_skipped(folders, tmp_path, caplog):
    bad = folders / "val" / "gt" / "y.png"

    def damage(step):
        if step == 0:
            bad.write_bytes(bad.read_bytes()[:100])

    with caplog.at_level(logging.WARNING, logger="samdistill.engine.trainer"):
        result = _fit(tmp_path / "run", folders, action=damage)
    assert result["step"] == 8
    val = json.loads((tmp_path / "run" / "val_history.json").read_text())
    assert [(r["step"], r["images"], r["skipped_images"]) for r in val] == [(s, 2, 1) for s in (2, 4, 6, 8)]
    warnings = [r.getMessage() for r in caplog.records if "validation: skipping" in r.getMessage()]
    assert len(warnings) == 1 and str(bad) in warnings[0]


def test_ctrl_c_saves_the_last_complete_step_and_names_it(tmp_path, caplog):
    cfg = make_cfg(str(tmp_path / "b"), save_every=0)
    set_seed(cfg.seed)
    with caplog.at_level(logging.ERROR, logger="samdistill.engine.trainer"), pytest.raises(KeyboardInterrupt):
        Trainer(cfg, NoisyPlain(crash_at=7), *loaders()).fit()
    [(step, ckpt)] = list_checkpoints(tmp_path / "b")
    assert step == 7
    assert "training interrupted" in caplog.text and str(ckpt) in caplog.text and "--resume" in caplog.text

    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = make_cfg(str(tmp_path / "a"))
    set_seed(cfg.seed)
    Trainer(cfg, NoisyPlain(), *loaders()).fit()
    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = make_cfg(str(tmp_path / "b"), save_every=0)
    set_seed(cfg.seed)
    Trainer(cfg, NoisyPlain(), *loaders()).fit(resume=True)
    assert _same_weights(tmp_path / "a", tmp_path / "b")
