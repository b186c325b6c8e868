"""`restore`, `eval`, `export` and `convert` take more than a samdistill artifact: a plain safetensors
state dict (with --backbone), a training checkpoint (IR1 extracted; the backbone read from the run's
config), and the authors' .pth files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.config.loader import config_from_dict, save_config
from samdistill.data.io import read_image
from samdistill.models.artifact import load_model_artifact, save_model_artifact
from samdistill.engine.checkpoint import capture_rng_state, save_checkpoint
from samdistill.models.foreign_keys import layout_for
from samdistill.models.registry import create_backbone

NAME, ARGS = "nafnet", {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}


def _net(seed: int) -> torch.nn.Module:
    """A small NAFNet far from its init (zero residual scales would make it the identity)."""
    torch.manual_seed(seed)
    net = create_backbone(NAME, **ARGS)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """One network saved every way: artifact, plain state dict, checkpoint of a run, authors' .pth;
    plus a second checkpoint's IR2 with other weights (must never be what is loaded)."""
    net, other = _net(1), _net(2)
    out = {"artifact": save_model_artifact(net, NAME, ARGS, tmp_path / "model.safetensors")}
    out["plain"] = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out["plain"]))
    run = tmp_path / "run"
    save_config(config_from_dict({"output_dir": str(run), "model": {"name": NAME, "args": ARGS},
                                  "sam4ir": {"enabled": False}}), run / "config.yaml")
    method_state = {**{f"ir1.{k}": v for k, v in net.state_dict().items()},
                    **{f"ir2.{k}": v for k, v in other.state_dict().items()}}
    out["checkpoint"] = save_checkpoint(run, 2, method_state, {"state": {}, "param_groups": []},
                                        [capture_rng_state()], {"config_hash": "x"})
    out["method"] = out["checkpoint"] / "method.safetensors"
    out["run"] = run
    out["pth"] = tmp_path / "NAFNet-width8.pth"
    torch.save({"params": {f"module.{k}": v for k, v in layout_for(net).to_authors(net.state_dict()).items()}},
               out["pth"])
    return out


@pytest.fixture
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    for sub in ("lq", "gt"):
        (folder / sub).mkdir(parents=True)
    for i, (h, w) in enumerate([(20, 28), (17, 17)]):
        gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        lq = np.clip(gt.astype(int) + rng.integers(-25, 26, gt.shape), 0, 255).astype(np.uint8)
        Image.fromarray(gt).save(folder / "gt" / f"p{i}.png")
        Image.fromarray(lq).save(folder / "lq" / f"p{i}.png")
    return folder


def _restore(images: Path, out: Path, checkpoint: Path, *extra: str):
    return CliRunner().invoke(app, ["restore", str(images / "lq"), str(out), "-m", str(checkpoint),
                                    "--device", "cpu", *extra])


def _read_all(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: read_image(p) for p in sorted(folder.glob("*.png"))}


@pytest.mark.parametrize("kind, extra", [
    ("plain", ["--backbone", NAME, "--args", json.dumps(ARGS)]),
    ("method", []),  # backbone from run/config.yaml
    ("checkpoint", []),
    ("run", []),  # no model.safetensors: the newest checkpoint
    ("pth", ["--backbone", NAME, "--args", json.dumps(ARGS)]),
])
def test_restore_gives_the_artifacts_images_from_every_input(files, images, tmp_path, kind, extra):
    reference = _restore(images, tmp_path / "ref", files["artifact"])
    assert reference.exit_code == 0, reference.output
    result = _restore(images, tmp_path / kind, files[kind], *extra)
    assert result.exit_code == 0, result.output
    expected, got = _read_all(tmp_path / "ref"), _read_all(tmp_path / kind)
    assert sorted(got) == ["p0.png", "p1.png"]
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    lq = _read_all(images / "lq")
    assert any(np.abs(got[n] - lq[n]).max() > 0.05 for n in got), "the network must change the images"


def test_restore_of_a_plain_state_dict_without_backbone_says_what_to_pass(files, images, tmp_path):
    result = _restore(images, tmp_path / "out", files["plain"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert str(files["plain"]) in flat and "does not say which network" in flat and "--backbone" in flat
    assert "--backbone nafnet --args" in flat
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_eval_scores_a_plain_state_dict_and_a_checkpoint_like_the_artifact(files, images, tmp_path):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "evalrun"),
                                   "data": {"val": {"layout": "folders", "root": str(images), "lq_dir": "lq",
                                                    "gt_dir": "gt"}}}))
    scores = {}
    for kind, extra in (("artifact", []), ("plain", ["--backbone", NAME, "--args", json.dumps(ARGS)]),
                        ("method", []), ("pth", ["--backbone", NAME, "--args", json.dumps(ARGS)])):
        out = tmp_path / f"eval_{kind}"
        result = CliRunner().invoke(app, ["eval", "-c", str(cfg), "-m", str(files[kind]), "--out", str(out),
                                          "--device", "cpu", *extra])
        assert result.exit_code == 0, result.output
        scores[kind] = json.loads((out / "metrics.json").read_text())["mean"]
    assert scores["artifact"]["psnr"] != pytest.approx(scores["artifact"]["input_psnr"], abs=1e-3)
    for kind in ("plain", "method", "pth"):
        assert scores[kind] == pytest.approx(scores["artifact"], abs=1e-9), kind


@pytest.mark.parametrize("kind", ["plain", "method"])
def test_export_takes_a_plain_state_dict_and_a_checkpoint(files, tmp_path, kind):
    out = tmp_path / f"{kind}.pt"
    extra = ["--backbone", NAME, "--args", json.dumps(ARGS)] if kind == "plain" else []
    result = CliRunner().invoke(app, ["export", "-m", str(files[kind]), "-o", str(out), "--format", "torchscript",
                                      "--size", "16", *extra])
    assert result.exit_code == 0, result.output
    scripted = torch.jit.load(str(out))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), load_model_artifact(files["artifact"])(x), rtol=1e-5, atol=1e-5)


def test_convert_writes_an_artifact_from_the_authors_pth(files, tmp_path):
    out = tmp_path / "converted.safetensors"
    result = CliRunner().invoke(app, ["convert", str(files["pth"]), str(out), "--backbone", NAME,
                                      "--args", json.dumps(ARGS)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "NAFNet layout" in flat and "'module.' prefixes removed" in flat and "'params'" in flat
    converted, reference = load_model_artifact(out), load_model_artifact(files["artifact"])
    for key, value in reference.state_dict().items():
        assert torch.equal(converted.state_dict()[key], value), key


def test_convert_of_a_checkpoint_needs_no_backbone_and_a_bare_pth_asks_for_one(files, tmp_path):
    out = tmp_path / "from_ckpt.safetensors"
    result = CliRunner().invoke(app, ["convert", str(files["checkpoint"]), str(out)])
    assert result.exit_code == 0, result.output
    assert all(torch.equal(load_model_artifact(out).state_dict()[k], v)
               for k, v in load_model_artifact(files["artifact"]).state_dict().items())
    bare = CliRunner().invoke(app, ["convert", str(files["pth"]), str(tmp_path / "x.safetensors")])
    assert bare.exit_code == 2
    assert "--backbone" in " ".join(bare.output.split())
    assert not (tmp_path / "x.safetensors").exists()
