"""The HTML report in a real headless Chromium: every image decodes and the page's numbers equal the JSON's.

Runs where a Chromium is on PATH (`chromium` or `chromium-browser`, or the file named by
$SAMDISTILL_CHROMIUM); elsewhere it is skipped with the reason, shown by `make test` (-rs). The tests
never install anything: `.ci/run` installs Debian's `chromium` before `make test`, so CI keeps the check.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from samdistill.cli.compare import register


def _find_chromium() -> str | None:
    named = os.environ.get("SAMDISTILL_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


SKIP_REASON = ("no headless Chromium on PATH (`chromium` / `chromium-browser`, or set SAMDISTILL_CHROMIUM): "
               "the HTML report's browser check is skipped; .ci/run installs Debian's `chromium` for it")


def chromium_or_skip() -> str:
    """The browser to use, or a skip with the reason; never installs one (a test run must not
    change the machine: that is .ci/run's explicit step)."""
    found = _find_chromium()
    if not found:
        pytest.skip(SKIP_REASON)
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_or_skip()


def _dump_dom(browser: str, page: Path) -> str:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
           "--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Cells(HTMLParser):
    """Numeric cells (data-key, data-value, shown text) with their row and table, and #load-check."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self.load_check = ""
        self._row, self._table, self._cell, self._in_check = "", "", None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("class", "")
        elif tag == "tr":
            self._row = a.get("data-row") or a.get("data-image") or ""
        elif tag == "td" and "data-key" in a:
            self._cell = {"key": a["data-key"], "value": a.get("data-value"), "row": self._row, "table": self._table, "text": ""}
        elif tag == "pre" and a.get("id") == "load-check":
            self._in_check = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        elif tag == "pre":
            self._in_check = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_check:
            self.load_check += data


def test_page_images_load_and_numbers_equal_the_json(chromium, two_runs, tmp_path: Path) -> None:
    a, b = two_runs
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    out, html_dir = tmp_path / "cmp", tmp_path / "html"
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(out), "--html", str(html_dir),
                                      "--resamples", "500", "--top", "2"])
    assert result.exit_code == 0, result.output
    dom = _dump_dom(chromium, html_dir / "index.html")
    cells = _Cells()
    cells.feed(dom)
    check = json.loads(cells.load_check)
    # 2 gains (the blur wins on 5 images) + 1 loss (the checkerboard), 4 images each, full and zoomed
    assert check["broken"] == [] and check["total"] == check["loaded"] == 3 * 4 * 2

    data = json.loads((out / "comparison.json").read_text())
    section = data["datasets"]["toy/test"]
    shown = {(c["table"], c["row"], c["key"]): c for c in cells.cells}
    for row in section["rows"]:
        for key in ("psnr", "ssim"):
            cell = shown[("runs", row["label"], key)]
            assert float(cell["value"]) == row["values"][key]
            places = 2 if key == "psnr" else 4
            assert cell["text"] == f"{row['values'][key]:.{places}f}"
    delta = section["deltas"][0]
    assert shown[("runs", "+ (B − A)", "psnr")]["text"] == f"{delta['values']['psnr']:+.2f}"
    report_a = json.loads((a / "eval" / "metrics.json").read_text())
    report_b = json.loads((b / "eval" / "metrics.json").read_text())
    per_image = [c for c in cells.cells if c["table"] == "per-image"]
    assert len(per_image) == 6 * 2 * 3  # 6 images x (PSNR, SSIM) x (A, B, delta)
    for ra, rb in zip(report_a["images"], report_b["images"]):
        values = [float(c["value"]) for c in per_image if c["row"] == ra["name"] and c["key"] == "psnr"]
        assert values == [ra["psnr"], rb["psnr"], rb["psnr"] - ra["psnr"]]
    # the page references only files inside its folder
    assert "http://" not in dom and "https://" not in dom
    assert all((html_dir / p).is_file() for p in (html_dir / "img").iterdir())
