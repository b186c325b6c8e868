"""benchmarks/results/sam4ir_sweep.py's dev split (--dev N): held-out training pairs, disjoint from training."""
from __future__ import annotations

import json

from _scripts import load_script


def _bench():
    return load_script("results/sam4ir_sweep.py")


def _tiny_street(tmp_path, monkeypatch):
    import samdistill.world.embedded as we

    monkeypatch.setenv("SAMDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(we, "STREET_TRAIN", 4)
    monkeypatch.setattr(we, "STREET_TEST", 2)


def test_dev_split_holds_out_the_last_training_pairs(tmp_path, monkeypatch):
    from samdistill.config.loader import apply_overrides, config_from_dict
    from samdistill.data.layouts import resolve_pairs

    _tiny_street(tmp_path, monkeypatch)
    bench = _bench()
    overrides = bench.dev_split("embedded-street-noise", 1, tmp_path / "dev")
    cfg = config_from_dict(apply_overrides({}, ["data.train.name=embedded-street-noise"] + overrides), "t")
    train = resolve_pairs(cfg.data.train)
    dev = resolve_pairs(cfg.data.val)
    assert len(train) == 3 and len(dev) == 1
    assert {p.name for p in train}.isdisjoint(p.name for p in dev)
    assert dev[0].gt.resolve().parent.parent.name == "train"  # a training image, not a test one
    full = resolve_pairs(cfg.data.train.model_copy(update={"limit": None}))
    assert [p.name for p in full] == [p.name for p in train] + [dev[0].name]
    bench.dev_split("embedded-street-noise", 2, tmp_path / "dev")  # a second call replaces the links
    assert len(list((tmp_path / "dev" / "input").iterdir())) == 2
    try:
        bench.dev_split("embedded-street-noise", 4, tmp_path / "dev")
        raise AssertionError("holding out every training pair must fail")
    except SystemExit as e:
        assert "hold out 1..3" in str(e)


def test_sweep_with_dev_scores_dev_and_test(tmp_path, monkeypatch):
    _tiny_street(tmp_path, monkeypatch)
    bench = _bench()
    out = tmp_path / "out"
    rows = bench.main(["--dataset", "embedded-street-noise", "--steps", "4", "--val-every", "2", "--dev", "1",
                       "--out", str(out), "--set", "data.batch_size=2", "--set", "data.crop_size=32",
                       "--set", "sam4ir.spf_prior=oracle", "--set", "sam4ir.sgr.enabled=false",
                       "--set", "sam4ir.prior_source=lq", "--variant", "late: sam4ir.distill_start_step=2"])
    saved = json.loads((out / "results.json").read_text())
    assert saved["dev"] == 1 and [r["run"] for r in saved["rows"]] == ["baseline", "late"]
    base, fw = rows
    assert [c["step"] for c in fw["curve"]] == [2, 4] and all("ir2_psnr" in c for c in fw["curve"])
    assert fw["ir2_psnr"] == fw["curve"][-1]["ir2_psnr"]
    assert fw["psnr"] == fw["curve"][-1]["psnr"]  # the shipped IR1 on dev = the last validation
    assert abs(fw["gain"] - (fw["psnr"] - base["psnr"])) < 1e-9
    assert abs(fw["test_gain"] - (fw["test_psnr"] - base["test_psnr"])) < 1e-9
    assert fw["test_psnr"] != fw["psnr"]  # two different image sets
    val_cfg = (out / "v0" / "framework" / "config.yaml").read_text()
    assert "restormer" in val_cfg and "limit: 3" in val_cfg

    model = out / "baseline" / "baseline" / "model.safetensors"
    stamp = model.stat().st_mtime_ns
    again = bench.main(["--dataset", "embedded-street-noise", "--steps", "4", "--val-every", "2", "--dev", "1",
                        "--out", str(out), "--set", "data.batch_size=2", "--set", "data.crop_size=32",
                        "--reuse-baseline", "--variant", "late: sam4ir.distill_start_step=2",
                        "--set", "sam4ir.spf_prior=oracle", "--set", "sam4ir.sgr.enabled=false",
                        "--set", "sam4ir.prior_source=lq"])
    assert model.stat().st_mtime_ns == stamp  # same config: scored, not retrained
    assert again[0]["psnr"] == base["psnr"] and again[0]["test_psnr"] == base["test_psnr"]
    changed = bench.main(["--dataset", "embedded-street-noise", "--steps", "4", "--dev", "1", "--out", str(out),
                          "--set", "data.batch_size=2", "--set", "data.crop_size=32", "--reuse-baseline",
                          "--set", "sam4ir.spf_prior=oracle", "--set", "sam4ir.sgr.enabled=false"])
    assert model.stat().st_mtime_ns != stamp  # another config (validation cadence): the baseline is retrained
    assert changed[0]["psnr"] == base["psnr"]  # same seed, same data order


def test_table6_rows_and_verdict():
    bench = _bench()
    names = [n for n, _ in bench.TABLE6]
    assert len(names) == 6 and sum("lambda1" in n for n in names) == 3
    assert all("sgr.enabled=false" in o for n, o in bench.TABLE6 if "lambda1" in n)
    assert not any("spd" in o for n, o in bench.TABLE6 if "lambda2" in n)  # SPD stays at its default there

    def row(run, seed, gain):
        return {"run": run, "seed": seed, "gain": gain}

    rows = [row("baseline", 0, 0.0), row("baseline", 1, 0.0)]
    for seed, gains in ((0, (0.30, 0.40, 0.35)), (1, (0.30, 0.20, 0.35))):
        rows += [row(f"table6 lambda1={w}", seed, g) for w, g in zip(("0.0005", "0.005", "0.05"), gains)]
    rows += [row("table6 lambda2=20", 0, 0.1), row("table6 lambda2=200", 0, -0.05), row("table6 lambda2=2000", 0, 0.4)]
    v = bench.table6_verdict(rows)
    assert abs(v["lambda1"]["spread"] - 0.05) < 1e-9 and v["lambda1"]["flat"] and v["lambda1"]["above_baseline"]
    assert abs(v["lambda2"]["spread"] - 0.45) < 1e-9 and not v["lambda2"]["flat"]
    assert not v["lambda2"]["above_baseline"] and abs(v["lambda2"]["min_gain"] + 0.05) < 1e-9
    assert bench.table6_verdict(rows[:2]) == {}
