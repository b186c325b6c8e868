"""benchmarks/method_studies/sam4ir_spd_direction.py on a tiny oracle run: it reads the run's own teacher and split."""
from __future__ import annotations

import json

import torch

from _scripts import load_script

FOLDER = {"sam4ir_spd_direction": "method_studies", "sam4ir_sweep": "results"}


def _load(name: str):
    return load_script(f"{FOLDER[name]}/{name}.py")


def test_direction_shares_of_a_hand_case():
    bench = _load("sam4ir_spd_direction")
    gt = torch.zeros(1, 3, 1, 2)
    i1 = torch.full((1, 3, 1, 2), 0.1)
    i2 = torch.tensor([0.05, 0.2]).view(1, 1, 1, 2).repeat(1, 3, 1, 1)  # closer at pixel 0, farther at 1
    assert bench.direction_shares(i1, i2, gt, 1.0, 255.0, "teacher_closer") == (0.5, 0.0, 0.0)
    distilled, opposed, norm = bench.direction_shares(i1, i2, gt, 1.0, 255.0, "none")
    assert distilled == 1.0 and opposed == 0.5 and abs(norm - 0.5) < 1e-6  # pixel 1 pulls away from GT


def test_a_tiny_oracle_run_is_read_back(tmp_path, monkeypatch):
    import samdistill.world.embedded as we

    monkeypatch.setenv("SAMDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(we, "STREET_TRAIN", 4)
    monkeypatch.setattr(we, "STREET_TEST", 2)
    out = tmp_path / "out"
    _load("sam4ir_sweep").main(["--dataset", "embedded-street-noise", "--steps", "4", "--dev", "1", "--out", str(out),
                                "--set", "data.batch_size=2", "--set", "data.crop_size=32",
                                "--set", "sam4ir.spf_prior=oracle", "--set", "sam4ir.sgr.enabled=false",
                                "--set", "sam4ir.prior_source=lq"])
    run = out / "v0" / "framework"
    bench = _load("sam4ir_spd_direction")
    (r,) = bench.main([str(run), "--out", str(tmp_path / "d.json")])
    last = json.loads((run / "val_history.json").read_text())[-1]
    assert r["images"] == 1 and abs(r["ir1_psnr"] - last["psnr"]) < 1e-3 and abs(r["ir2_psnr"] - last["ir2_psnr"]) < 1e-3
    assert r["none"]["distilled"] >= r["teacher_closer"]["distilled"]
    assert r["none"]["opposed"] >= r["teacher_closer"]["opposed"]
    assert json.loads((tmp_path / "d.json").read_text())[0]["run"] == str(run)
