"""`train --init PATH` (model.init) starts IR1 from the given weights, in any accepted format."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from accelerate.state import AcceleratorState
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from pretrained_helpers import authors_state, random_backbone
from samdistill.build import build_method
from samdistill.cli.main import app
from samdistill.config.loader import load_config
from samdistill.core.errors import CheckpointError

NAME, ARGS = "nafnet", {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("lq", "gt"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    for i in range(2):
        gt = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        lq = np.clip(gt.astype(int) + rng.integers(-25, 26, gt.shape), 0, 255).astype(np.uint8)
        Image.fromarray(gt).save(tmp_path / "data" / "gt" / f"p{i}.png")
        Image.fromarray(lq).save(tmp_path / "data" / "lq" / f"p{i}.png")
    folders = {"layout": "folders", "root": str(tmp_path / "data"), "lq_dir": "lq", "gt_dir": "gt"}
    cfg = {"seed": 3, "model": {"name": NAME, "args": ARGS},
           "data": {"train": folders, "val": None, "crop_size": 16, "batch_size": 1, "num_workers": 0},
           # one step at a learning rate too small to move a float32 weight: the saved model is the start
           "train": {"steps": 1, "val_every": 0, "save_every": 0, "tensorboard": False, "progress": False,
                     "optimizer": {"lr": 1e-30}}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _trained(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model.safetensors"))


def test_train_init_from_an_authors_pth_starts_from_those_weights(experiment, tmp_path):
    source = random_backbone(NAME, 11, **ARGS)
    pth = tmp_path / "NAFNet-released.pth"
    torch.save({"params": {f"module.{k}": v for k, v in authors_state(source).items()}}, pth)

    result = CliRunner().invoke(app, ["train", "-c", str(experiment), "-o", str(tmp_path / "run"), "--init", str(pth)])
    assert result.exit_code == 0, result.output
    trained = _trained(tmp_path / "run")
    for key, value in source.state_dict().items():
        torch.testing.assert_close(trained[key], value, rtol=0, atol=1e-6, msg=key)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["init"] == str(pth)

    scratch = CliRunner().invoke(app, ["train", "-c", str(experiment), "-o", str(tmp_path / "scratch")])
    assert scratch.exit_code == 0, scratch.output
    differs = [k for k, v in source.state_dict().items() if not torch.allclose(_trained(tmp_path / "scratch")[k], v)]
    assert differs, "without --init the run must start elsewhere"


def test_model_init_from_a_checkpoint_folder_loads_ir1_into_the_built_method(experiment, tmp_path):
    first = CliRunner().invoke(app, ["train", "-c", str(experiment), "-o", str(tmp_path / "first"),
                                     "train.optimizer.lr=0.5", "seed=8"])
    assert first.exit_code == 0, first.output
    checkpoint = sorted((tmp_path / "first" / "checkpoints").iterdir())[-1]
    cfg = load_config(experiment, [f"model.init={checkpoint}"])
    method = build_method(cfg)
    expected = _trained(tmp_path / "first")
    for key, value in method.shipped_model().state_dict().items():
        assert torch.equal(value, expected[key]), key
    fresh = build_method(load_config(experiment))
    assert any(not torch.equal(v, expected[k]) for k, v in fresh.shipped_model().state_dict().items())


def test_sam4ir_method_starts_its_ir1_from_model_init(experiment, tmp_path):
    source = random_backbone(NAME, 12, **ARGS)
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path)
    cfg = load_config(experiment, [f"model.init={path}", "sam4ir.enabled=true", "priors.backend=offline",
                                          "sam4ir.sgr.features=random_conv"])
    method = build_method(cfg)
    assert type(method).__name__ == "SAM4IRMethod"
    for key, value in source.state_dict().items():
        assert torch.equal(method.shipped_model().state_dict()[key], value), key


def test_train_init_with_weights_of_another_network_fails_in_one_line(experiment, tmp_path):
    other = random_backbone("nafnet_tiny", 13)
    pth = tmp_path / "tiny.pth"
    torch.save({"params": other.state_dict()}, pth)
    result = CliRunner().invoke(app, ["train", "-c", str(experiment), "-o", str(tmp_path / "run"), "--init", str(pth)])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert str(pth) in flat and f"does not fit {NAME} {json.dumps(ARGS, sort_keys=True)}" in flat
    assert "Traceback" not in result.output
    with pytest.raises(CheckpointError, match="does not fit"):
        build_method(load_config(experiment, [f"model.init={pth}"]))


def test_a_panoramic_run_refuses_model_init(tmp_path):
    from samdistill.build import build_experiment
    from samdistill.config.loader import ConfigError

    cfg = load_config(None, ["task=panoramic", f"model.init={tmp_path / 'w.pth'}"])
    with pytest.raises(ConfigError, match="goodsam.student.init"):
        build_experiment(cfg)
