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
