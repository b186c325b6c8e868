"""The pano demo's experiment is the YAML pair shipped in the package (demos/pano_*.yaml), with the
profile's sizes and steps and the user's overrides on top; each run keeps its own stage."""
from __future__ import annotations

from pathlib import Path

import pytest

from samdistill.config.loader import load_config
from samdistill.demos import pano


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_the_demo_runs_are_the_yaml_files_with_profile_and_overrides(tmp_path, profile):
    p = pano.PROFILES[profile]
    cfgs = pano.demo_configs(tmp_path, profile, ["priors.backend=offline", "goodsam.stage=adapt", "seed=3"])
    assert [c.goodsam.stage for c in cfgs.values()] == ["source", "source", "adapt"]
    assert [c.train.steps for c in cfgs.values()] == [p["stage1"], p["continue"], p["continue"]]
    for cfg in cfgs.values():
        assert cfg.priors.backend == "offline" and cfg.seed == 3
        assert (cfg.goodsam.student.size, cfg.goodsam.ta.size) == (p["student"], p["ta"])
    stage1 = tmp_path / "stage1"
    for name in ("source_only", "goodsam"):
        assert cfgs[name].goodsam.student.init == str(stage1 / "model.safetensors")
        assert cfgs[name].goodsam.ta.init == str(stage1 / "ta.safetensors")
    shipped = load_config(pano.GOODSAM_CONFIG).goodsam
    assert cfgs["goodsam"].goodsam.label_cache == shipped.label_cache and not shipped.train_ta


def test_the_yaml_files_load_as_they_are():
    for path in (pano.SOURCE_CONFIG, pano.GOODSAM_CONFIG):
        assert path.parent == Path(pano.__file__).parent and path.is_file(), path
    assert load_config(pano.SOURCE_CONFIG).goodsam.stage == "source"
    assert load_config(pano.GOODSAM_CONFIG).goodsam.stage == "adapt"
