"""A resolved dataset config shows only the fields its layout reads, and reports label datasets
sanely (issue 22, item 10: a rain200 run showed `name: embedded-rain` / `lq_dir: lq`, and compare
labelled it "rain200:test/test")."""
import yaml

from samdistill.config.loader import apply_overrides, config_from_dict, load_config, save_config
from samdistill.data.config import DatasetConfig, dataset_label


def test_a_rain200_override_of_a_folders_config_drops_the_folders_fields(tmp_path):
    folders = {"layout": "folders", "lq_dir": "lq", "gt_dir": "gt"}
    raw = apply_overrides({"data": {"train": {**folders, "root": "MY/train"}, "val": {**folders, "root": "MY/test"}}},
                          ["data.train.layout=rain200", "data.val.layout=rain200"])
    cfg = config_from_dict(raw)
    saved = save_config(cfg, tmp_path / "config.yaml")
    train = yaml.safe_load(saved.read_text())["data"]["train"]
    assert train["layout"] == "rain200" and train["name"] is None
    assert train["lq_dir"] is None and train["gt_dir"] is None
    assert load_config(saved).data.train == cfg.data.train  # round-trips


def test_embedded_keeps_its_name_and_defaults_to_embedded_rain():
    assert DatasetConfig().name == "embedded-rain"
    assert DatasetConfig(name="embedded-noise").name == "embedded-noise"
    assert DatasetConfig(layout="rain200", root="x", name="embedded-noise").name is None


def test_labels_name_the_dataset_not_the_split_twice():
    assert dataset_label(DatasetConfig(layout="rain200", root="data/Rain200L/test", split="test")) == "rain200:Rain200L/test"
    assert dataset_label(DatasetConfig(layout="rain200", root="/data/MY_PAIRS/test", split="test")) == "rain200:MY_PAIRS/test"
    assert dataset_label(DatasetConfig(layout="folders", root="shots", lq_dir="a", gt_dir="b")) == "folders:shots"
    assert dataset_label(DatasetConfig(split="test")) == "embedded:embedded-rain/test"
    assert dataset_label(DatasetConfig(layout="gopro", root="data/GoPro", split="test")) == "gopro:GoPro/test"
