"""`samdistill compare`: the table equals the reports, the "+" row and intervals, clear errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from samdistill.cli.compare import register
from samdistill.compare.bootstrap import paired_mean_ci
from samdistill.compare.runs import load_runs
from samdistill.compare.table import compare_runs


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer's subcommand parsing
        pass

    return app


def _report(folder: Path) -> dict:
    return json.loads((folder / "eval" / "metrics.json").read_text())


def test_table_rows_deltas_and_intervals_match_the_reports(two_runs, tmp_path: Path) -> None:
    a, b = two_runs
    out = tmp_path / "cmp"
    result = CliRunner().invoke(_app(), ["compare", str(a), str(b), "--out", str(out), "--resamples", "2000"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "comparison.json").read_text())
    section = data["datasets"]["toy/test"]
    ra, rb = _report(a), _report(b)
    by_label = {row["label"]: row["values"] for row in section["rows"]}
    assert by_label["A"]["psnr"] == pytest.approx(ra["mean"]["psnr"], abs=1e-12)
    assert by_label["B"]["ssim"] == pytest.approx(rb["mean"]["ssim"], abs=1e-12)
    assert by_label["input"]["psnr"] == pytest.approx(ra["mean"]["input_psnr"], abs=1e-12)
    delta = section["deltas"][0]
    assert delta["label"] == "B − A"
    assert delta["values"]["psnr"] == pytest.approx(rb["mean"]["psnr"] - ra["mean"]["psnr"], abs=1e-12)
    pa = np.array([r["psnr"] for r in ra["images"]])
    pb = np.array([r["psnr"] for r in rb["images"]])
    expected = paired_mean_ci(pa, pb, resamples=2000, seed=0)
    ci = delta["ci"]["psnr"]
    assert (ci["low"], ci["high"]) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert ci["improved"] == int((pb > pa).sum()) and ci["worse"] == int((pb < pa).sum())
    assert 0 < ci["improved"] < 6  # the blur helps the smooth images, not the checkerboard
    md = (out / "comparison.md").read_text()
    assert f"| + (B − A) | {delta['values']['psnr']:+.2f} |" in md
    assert f"{ci['improved']}/6" in md and "PSNR↑" in md and "FID↓" not in md  # no FID measured: no column
    rows = list(csv.reader((out / "comparison.csv").open()))
    assert ["toy/test", "A", "psnr", repr(ra["mean"]["psnr"])] == rows[[r[:2] for r in rows].index(["toy/test", "A"])][:4]
    assert "B − A" in result.output


def test_runs_can_be_json_files_and_are_labelled(two_runs) -> None:
    a, b = two_runs
    runs = load_runs([a / "eval" / "metrics.json", b], labels=["base", "ours"])
    assert [r.label for r in runs] == ["base", "ours"] and list(runs[1].reports) == ["toy/test"]
    same = load_runs([a, a])
    assert [r.label for r in same] == ["A", "A#2"]
    comparison = compare_runs(same, resamples=100)
    ci = comparison["datasets"]["toy/test"]["deltas"][0]["ci"]["psnr"]
    assert ci["low"] == ci["high"] == ci["delta"] == 0.0 and ci["tied"] == 6


def test_different_image_sets_are_an_error_naming_the_missing_images(two_runs, tmp_path: Path) -> None:
    a, b = two_runs
    report = _report(b)
    report["images"] = [r for r in report["images"] if r["name"] not in ("img1", "img4")]
    report["images"].append({**report["images"][0], "name": "stranger"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    result = CliRunner().invoke(_app(), ["compare", str(a), str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "img1, img4" in text and "stranger" in text and str(bad) in text


def test_unreadable_or_foreign_json_and_missing_runs_are_named(two_runs, tmp_path: Path) -> None:
    a, _ = two_runs
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"mIoU": 0.5}))
    for path, message in ((broken, "not valid JSON"), (other, "not an evaluation report"),
                          (tmp_path / "nowhere", "no such evaluation JSON or run folder"),
                          (tmp_path, "both evaluate dataset")):
        result = CliRunner().invoke(_app(), ["compare", str(a), str(path), "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split()) and str(path) in " ".join(result.output.split())


def test_html_without_restored_images_says_how_to_keep_them(two_runs, tmp_path: Path) -> None:
    a, b = two_runs
    report = _report(b)
    for row in report["images"]:
        del row["restored_path"]
    (b / "eval" / "metrics.json").write_text(json.dumps(report))
    result = CliRunner().invoke(_app(), ["compare", str(a), str(b), "--out", str(tmp_path / "o"),
                                         "--html", str(tmp_path / "h")])
    assert result.exit_code == 2
    assert "eval.save_images=true" in " ".join(result.output.split())
