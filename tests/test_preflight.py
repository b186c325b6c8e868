"""Preflight: every name, path and combination of a config is checked before anything is built or
read, and all problems are reported at once, one line each, without a traceback."""
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.config.loader import config_from_dict, load_config
from samdistill.preflight import preflight

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _cfg(tmp_path, **sections):
    (tmp_path / "set" / "lq").mkdir(parents=True, exist_ok=True)
    (tmp_path / "set" / "gt").mkdir(exist_ok=True)
    data = {"layout": "folders", "root": str(tmp_path / "set"), "lq_dir": "lq", "gt_dir": "gt"}
    base = {"output_dir": str(tmp_path / "run"), "model": {"name": "nafnet_tiny", "args": {"width": 8}},
            "data": {"train": data, "val": dict(data)}}
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return config_from_dict(base)


def test_a_valid_config_has_no_problem(tmp_path):
    assert preflight(_cfg(tmp_path)) == []
    assert preflight(_cfg(tmp_path, model={"name": "rcdnet_tiny", "args": {}},
                          train={"loss": {"name": "rcdnet_multistage"}})) == []


@pytest.mark.parametrize("model, loss, expected", [
    ({"name": "nafnet_tyni", "args": {}}, "l1", "model.name: unknown network 'nafnet_tyni' (did you mean 'nafnet_tiny'?)"),
    ({"name": "nafnet_tiny", "args": {"widht": 8}}, "l1", "model.args (nafnet_tiny): unknown key(s) widht; it takes"),
    ({"name": "nafnet", "args": {"width": 8}}, "l1",
     "model.args (nafnet): missing required key(s) dec_blk_nums, enc_blk_nums, middle_blk_num"),
    ({"name": "rcdnet_tiny", "args": {"stagez": 2}}, "l1", "model.args (rcdnet_tiny): unknown key(s) stagez"),  # **kwargs factory
    ({"name": "nafnet_tiny", "args": {}}, "rcdnet_multistage", "train.loss.name: rcdnet_multistage needs a backbone "
     "with forward_stages"),
])
def test_model_names_arguments_and_loss_combinations(tmp_path, model, loss, expected):
    problems = preflight(_cfg(tmp_path, model=model, train={"loss": {"name": loss}}))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_sam4ir_weights_and_sam_backend(tmp_path):
    problems = preflight(_cfg(tmp_path, sam4ir={"enabled": True}, priors={"backend": "sam"}))
    assert [p.split(":")[0] for p in problems] == ["sam4ir.sgr.vgg_weights", "priors.sam.checkpoint"]
    vgg = tmp_path / "vgg16.pth"
    vgg.write_bytes(b"")
    ok = _cfg(tmp_path, sam4ir={"enabled": True, "sgr": {"vgg_weights": str(vgg)}}, priors={"backend": "offline"})
    assert preflight(ok) == []


def test_three_problems_are_three_lines_and_nothing_runs(tmp_path, monkeypatch):
    import samdistill.build as build

    monkeypatch.setattr(build, "build_experiment", lambda cfg: pytest.fail("preflight must stop before building"))
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({
        "output_dir": str(tmp_path / "run"),
        "model": {"name": "nafnet_tiny", "args": {"widht": 8}},
        "data": {"train": {"layout": "folders", "root": str(tmp_path / "missing"), "lq_dir": "lq", "gt_dir": "gt"},
                 "val": None},
        "sam4ir": {"enabled": True, "sgr": {"features": "random_conv"}},
        "priors": {"sam": {"checkpoint": str(tmp_path / "sam_vit_b.pth")}},
    }))
    result = CliRunner().invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2
    text = result.output
    assert "Traceback" not in text and "3 problem(s)" in text
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("model.args (nafnet_tiny): unknown key(s) widht") for line in lines)
    assert f"data.train.root: {tmp_path / 'missing'} does not exist" in lines
    assert f"priors.sam.checkpoint: {tmp_path / 'sam_vit_b.pth'} does not exist" in lines
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("path", sorted(p for p in CONFIGS.rglob("*.yaml") if not p.name.startswith("_")),
                         ids=lambda p: str(p.relative_to(CONFIGS)))
def test_shipped_configs_name_real_networks_with_accepted_arguments(path):
    problems = preflight(load_config(path))
    assert not [p for p in problems if p.startswith(("model.", "train.", "data.train.name", "data.val.name"))]


# ------------------------------------------------------------------ issue 22, item 2: no checkpoint is ignored

def _sam4ir(tmp_path, priors):
    return _cfg(tmp_path, sam4ir={"enabled": True, "sgr": {"features": "random_conv"}}, priors=priors)


def test_a_sam_checkpoint_with_the_offline_backend_pinned_is_a_conflict(tmp_path):
    ckpt = tmp_path / "sam_vit_b.pth"
    ckpt.write_bytes(b"")
    problems = preflight(_sam4ir(tmp_path, {"backend": "offline", "sam": {"checkpoint": str(ckpt)}}))
    assert len(problems) == 1, problems
    assert problems[0].startswith("priors.sam.checkpoint: set")
    assert "priors.backend=offline" in problems[0] and "priors.backend=sam" in problems[0]


@pytest.mark.parametrize("priors, key", [
    ({"backend": "offline", "sam": {"checkpoint": "MISSING"}}, "priors.sam.checkpoint"),
    ({"backend": "auto", "sam": {"checkpoint": "MISSING"}}, "priors.sam.checkpoint"),
    ({"backend": "sam2", "sam2": {"checkpoint": "MISSING"}}, "priors.sam2.checkpoint"),
    ({"backend": "sam3", "sam3": {"checkpoint": "MISSING"}}, "priors.sam3.checkpoint"),
    ({"backend": "world", "sam3": {"checkpoint": "MISSING"}}, "priors.sam3.checkpoint"),
])
def test_a_missing_checkpoint_file_is_an_error_with_every_backend(tmp_path, priors, key):
    section = key.split(".")[1]
    missing = str(tmp_path / "nowhere" / "weights.pth")
    priors = {**priors, section: {"checkpoint": missing}}
    problems = preflight(_sam4ir(tmp_path, priors))
    assert any(p.startswith(f"{key}: {missing} does not exist") or (p.startswith(key) and "does not exist" in p)
               for p in problems), problems


def test_sam3_without_a_checkpoint_is_named(tmp_path):
    problems = preflight(_sam4ir(tmp_path, {"backend": "sam3"}))
    assert [p.split(":")[0] for p in problems] == ["priors.sam3.checkpoint"]


def test_the_train_command_refuses_the_conflict_before_running(tmp_path):
    config = tmp_path / "c.yaml"
    cfg = _sam4ir(tmp_path, {"backend": "offline"})
    config.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    result = CliRunner().invoke(app, ["train", "-c", str(config), "priors.sam.checkpoint=/weights/sam_vit_b.pth",
                                      "train.steps=1"])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "priors.sam.checkpoint" in flat and "priors.backend=offline" in flat and "does not exist" in flat
    assert not (tmp_path / "run").exists()


def test_build_segmenter_refuses_the_conflict_too():
    from samdistill.config.loader import ConfigError
    from samdistill.priors.config import PriorsConfig
    from samdistill.priors.segmenter import build_segmenter

    with pytest.raises(ConfigError, match=r"priors.sam.checkpoint.*priors.backend=offline"):
        build_segmenter(PriorsConfig(backend="offline", sam={"checkpoint": "/weights/sam_vit_b.pth"}))
