"""`samdistill demo` shows its stages' progress (issue 22, item 3): the command sets up logging, so
the stages' lines (training, evaluation: engine.progress) reach the user without a terminal."""
import logging

from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.engine.progress import track


def test_demo_prints_the_progress_lines_of_its_stages(tmp_path, monkeypatch):
    def fake_run_demo(out, profile, extra):
        for _ in track(range(4), "eval baseline", unit="img", terminal=False):
            pass
        return {"rows": {"baseline": (20.0, 0.5)}, "profile": profile, "steps": 4, "prior": "offline"}

    monkeypatch.setattr("samdistill.demos.rain.run_demo", fake_run_demo)
    logger = logging.getLogger("samdistill")
    before = list(logger.handlers)
    try:
        result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path / "r")])
    finally:
        for handler in [h for h in logger.handlers if h not in before]:
            logger.removeHandler(handler)
    assert result.exit_code == 0, result.output
    assert "eval baseline: 4/4 (100%) | " in result.output and " left" in result.output
