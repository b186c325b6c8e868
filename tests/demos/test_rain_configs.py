"""The rain demo's experiment is the YAML pair shipped in the package (demos/rain_*.yaml): the
configs the demo trains are exactly those it built from its override list before, for both
profiles and with user overrides on top, so the demo's figures do not move; the files are package
data and train as they are with `samdistill train -c`."""
from __future__ import annotations

from pathlib import Path

import pytest

from samdistill.config.loader import apply_overrides, config_from_dict, load_config
from samdistill.demos import rain

# The demo's experiment as it was written in Python (report/demo.py's BASE) before it became YAML.
OLD_BASE = [
    "name=demo", "model.name=nafnet_tiny", "data.train.name=embedded-rain", "data.val.name=embedded-rain",
    "data.val.split=test", "data.crop_size=64", "data.batch_size=8", "train.optimizer.lr=1e-3", "train.schedule.name=cosine",
    "train.log_every=10", "train.tensorboard=false", "data.num_workers=0",
    "sam4ir.prior_source=restored", "sam4ir.refresh_every=100", "sam4ir.sgr.features=random_conv",
]


def _old(out: Path, profile: str, overrides: list[str]):
    common = OLD_BASE + rain.PROFILES[profile] + list(overrides)
    return tuple(config_from_dict(apply_overrides({}, common + [f"sam4ir.enabled={on}", f"output_dir={out / run}"]))
                 for on, run in (("false", "baseline"), ("true", "framework")))


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("overrides", [[], ["sam4ir.sgr.weight=20.0", "sam4ir.spd.pixel_scale=1", "sam4ir.spd.gate=none"],
                                       ["priors.backend=sam", "priors.sam.checkpoint=/w/sam.pth", "sam4ir.enabled=true"]])
def test_the_yaml_experiment_is_the_old_override_list(tmp_path, profile, overrides):
    new = rain.demo_configs(tmp_path, profile, overrides)
    for old_cfg, new_cfg in zip(_old(tmp_path, profile, overrides), new):
        assert new_cfg.model_dump() == old_cfg.model_dump()
    assert not new[0].sam4ir.enabled and new[1].sam4ir.enabled


def test_the_yaml_files_are_package_data_and_load_as_they_are():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    package_data = next(line for line in pyproject.splitlines() if line.startswith("samdistill = ["))
    assert '"demos/*.yaml"' in package_data
    for path in (rain.BASELINE_CONFIG, rain.SAM4IR_CONFIG):
        assert path.parent == Path(rain.__file__).parent and path.is_file(), path
        cfg = load_config(path)
        assert cfg.model.name == "nafnet_tiny" and cfg.data.train.name == "embedded-rain"
    assert not load_config(rain.BASELINE_CONFIG).sam4ir.enabled and load_config(rain.SAM4IR_CONFIG).sam4ir.enabled
