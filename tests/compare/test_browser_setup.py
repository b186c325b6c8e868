"""`make test` never installs a browser: the browser test skips with its reason where none is
present, and CI installs Chromium explicitly before the suite (issue 22, item 9)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import test_compare_html_browser as browser_test

ROOT = Path(__file__).resolve().parents[2]


def test_no_browser_means_a_skip_with_the_reason_and_nothing_installed(monkeypatch) -> None:
    monkeypatch.delenv("SAMDISTILL_CHROMIUM", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)

    def refuse(*args, **kwargs):
        raise AssertionError(f"the test suite ran a command to get a browser: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser_test.chromium_or_skip()
    assert "Chromium" in str(skipped.value) and ".ci/run" in str(skipped.value)


def test_a_named_browser_is_used(monkeypatch, tmp_path: Path) -> None:
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SAMDISTILL_CHROMIUM", str(fake))
    assert browser_test.chromium_or_skip() == str(fake)


def test_no_test_file_installs_packages() -> None:
    offenders = [p.relative_to(ROOT) for p in (ROOT / "tests").rglob("*.py")
                 if p.name != Path(__file__).name and "apt-get" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_ci_installs_chromium_before_the_suite_and_make_test_shows_skip_reasons() -> None:
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if not ln.lstrip().startswith("#")]
    install = next(i for i, ln in enumerate(lines) if "apt-get install" in ln and "chromium" in ln)
    assert install < next(i for i, ln in enumerate(lines) if ln.strip() == "make test")
    test_rule = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-rs" in test_rule
