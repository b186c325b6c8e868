"""The pano demo's experiment is the YAML pair shipped in the package (demos/pano_*.yaml): the three
configs the demo trains are exactly those it built from its override list before, for both profiles
and with user overrides on top, so the demo's figures do not move."""
from __future__ import annotations

from pathlib import Path

import pytest

from samdistill.config.loader import apply_overrides, config_from_dict, load_config
from samdistill.demos import pano

# The demo's recipe as it was written in Python (report/pano_demo.py's BASE) before it became YAML.
OLD_BASE = ["task=panoramic", "name=demo-pano", "train.tensorboard=false", "train.log_every=10",
            "train.optimizer.name=adamw", "train.optimizer.lr=6e-4", "train.optimizer.weight_decay=0.01",
            "train.schedule.name=cosine", "train.schedule.warmup_steps=20",
            "goodsam.windows.window=192", "goodsam.windows.stride=128", "goodsam.label_ta=ema", "goodsam.ta_ema=0.99",
            "goodsam.data.source_crop=[128,128]", "goodsam.data.batch_size=8", "goodsam.data.target_batch_size=2",
            "goodsam.data.num_masks=48"]


def _old(out: Path, profile: str, overrides: list[str]) -> dict:
    p = pano.PROFILES[profile]
    common = OLD_BASE + [f"goodsam.student.size={p['student']}", f"goodsam.ta.size={p['ta']}"] + list(overrides)
    s1 = out / "stage1"
    init = [f"goodsam.student.init={s1 / 'model.safetensors'}", f"goodsam.ta.init={s1 / 'ta.safetensors'}"]
    steps2 = [f"train.steps={p['continue']}", f"train.val_every={p['continue']}", f"train.save_every={p['continue']}"]
    runs = {
        "stage1": common + ["goodsam.stage=source", f"output_dir={s1}", f"train.steps={p['stage1']}",
                            f"train.val_every={p['stage1']}", f"train.save_every={p['stage1']}"],
        "source_only": common + init + steps2 + ["goodsam.stage=source", f"output_dir={out / 'source_only'}"],
        "goodsam": common + init + steps2 + ["goodsam.stage=adapt", "train.optimizer.lr=2e-4", f"output_dir={out / 'goodsam'}"],
    }
    return {name: config_from_dict(apply_overrides({}, args)) for name, args in runs.items()}


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("overrides", [[], ["priors.backend=offline"], ["goodsam.stage=adapt", "train.optimizer.lr=1e-2"]])
def test_the_yaml_experiment_is_the_old_override_list(tmp_path, profile, overrides):
    new, old = pano.demo_configs(tmp_path, profile, overrides), _old(tmp_path, profile, overrides)
    assert new.keys() == old.keys()
    for name in old:
        assert new[name].model_dump() == old[name].model_dump(), name


def test_the_yaml_files_load_as_they_are():
    for path in (pano.SOURCE_CONFIG, pano.GOODSAM_CONFIG):
        assert path.parent == Path(pano.__file__).parent and path.is_file(), path
    assert load_config(pano.SOURCE_CONFIG).goodsam.stage == "source"
    assert load_config(pano.GOODSAM_CONFIG).goodsam.stage == "adapt"
