"""benchmarks/method_studies/sam4ir_mask_use.py on a tiny street benchmark: the probes, the same start, the JSON."""
from __future__ import annotations

import json

import torch

from _scripts import load_script


def _bench():
    return load_script("method_studies/sam4ir_mask_use.py")


def test_probes_give_each_image_its_own_another_or_no_masks():
    bench = _bench()
    masks = [torch.full((1, 2, 4, 4), float(i)) for i in range(1, 4)]
    probes = bench.probe_masks(masks)
    assert [float(m.max()) for m in probes["right"]] == [1, 2, 3]
    assert [float(m.max()) for m in probes["other"]] == [2, 3, 1]  # never the image's own
    assert all(not m.any() and m.shape == (1, 2, 4, 4) for m in probes["zero"])


def test_a_short_run_starts_equal_then_depends_on_the_masks(tmp_path, monkeypatch):
    import samdistill.world.embedded as we

    monkeypatch.setenv("SAMDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(we, "STREET_TRAIN", 3)
    monkeypatch.setattr(we, "STREET_TEST", 2)
    bench = _bench()
    results = bench.main(["--datasets", "embedded-street-noise", "--seeds", "0", "--steps", "6", "--eval-every", "3",
                          "--out", str(tmp_path / "out"), "--set", "data.batch_size=2", "--set", "data.crop_size=32"])
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["runs"] == json.loads(json.dumps(results))
    evals = saved["runs"][0]["evals"]
    assert [e["step"] for e in evals] == [0, 3, 6]
    assert all({"plain", "right", "other", "zero"} <= set(e) for e in evals)
    start = evals[0]  # same weights, SPF units at the identity: every probe is the plain IR2
    assert start["right"] == start["other"] == start["zero"] == start["plain"]
    end = evals[-1]  # trained with masks, the prior IR2 now reads them: its output depends on which
    assert end["right"] != end["zero"] and end["right"] != end["other"] and end["right"] != end["plain"]
