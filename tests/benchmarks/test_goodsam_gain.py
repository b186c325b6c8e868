"""benchmarks/results/goodsam_gain.py's bookkeeping (no training): the Table 2 ladder is cumulative, an earlier
source-only continuation is reused only when it ran the same number of steps, the shipped configs are found."""
from __future__ import annotations

import json

from _scripts import load_script


def _bench():
    return load_script("results/goodsam_gain.py")


def test_table2_ladder_adds_one_component_per_row():
    ladder = _bench().table2_variants()
    rows = list(ladder)
    assert rows[0] == "t2_windows" and "goodsam.fusion=none" in ladder["t2_windows"]
    assert "goodsam.weights.consistency=0.1" in ladder["t2_consistency"]
    # a later row overrides the same key instead of listing it twice
    keys = [o.split("=")[0] for o in ladder["t2_ctcf"]]
    assert len(keys) == len(set(keys)) and "goodsam.fusion=ctcf" in ladder["t2_ctcf"]
    assert "goodsam.weights.feature=1.0" in ladder[rows[-1]] and "goodsam.weights.image=0.5" in ladder[rows[-1]]


def test_table2_on_a_frozen_ta_leaves_out_consistency_and_every_row_validates():
    """The shipped recipe freezes the TA: DAR's consistency row is left out (the config refuses it), the
    feature row computes labels live (features are not cached), and every row is a valid config."""
    from samdistill.config.loader import load_config

    bench = _bench()
    assert bench._adapt_trains_ta([]) is False and bench._adapt_trains_ta(["goodsam.train_ta=true"]) is True
    ladder = bench.table2_variants(trains_ta=False)
    assert "t2_consistency" not in ladder and "t2_consistency" in bench.table2_variants(trains_ta=True)
    assert "goodsam.label_cache=false" in ladder["t2_feature"]
    init = ["goodsam.student.init=null", "goodsam.ta.init=null"]
    for overrides in ladder.values():
        load_config(bench.CONFIGS / "adapt.yaml", overrides + init)


def test_finished_source_only_is_reused_only_at_the_same_length(tmp_path):
    bench = _bench()
    assert bench._finished(tmp_path, 200) is None
    (tmp_path / "val_history.json").write_text(json.dumps(
        [{"step": 100, "miou": 0.1, "ta_miou": 0.2, "iou_per_class": [0.1]},
         {"step": 200, "miou": 0.3, "ta_miou": 0.4, "iou_per_class": [0.5]}]))
    assert bench._finished(tmp_path, 600) is None
    assert bench._finished(tmp_path, 200) == {"miou": 0.3, "ta_miou": 0.4, "classes": [0.5]}


def test_the_shipped_configs_are_found():
    bench = _bench()
    assert (bench.CONFIGS / "adapt.yaml").is_file() and bench._config_steps("adapt.yaml") > 0
