"""engine.progress: a stage's bar on a terminal, a line per log point with name and time left
elsewhere (issue 22, item 3)."""
import logging

from samdistill.engine.progress import LOG_POINTS, stage_line, track


def test_without_a_terminal_a_stage_prints_a_line_per_log_point(caplog):
    with caplog.at_level(logging.INFO, logger="samdistill.progress"):
        seen = list(track(range(40), "eval baseline", unit="img", terminal=False))
    assert seen == list(range(40))
    lines = [r.getMessage() for r in caplog.records if r.name == "samdistill.progress"]
    assert len(lines) == LOG_POINTS
    assert lines[0].startswith("eval baseline: 4/40 (10%) | ") and lines[-1].startswith("eval baseline: 40/40 (100%)")
    assert all(" img/s, " in line and line.endswith(" left") for line in lines)


def test_without_a_configured_logger_the_lines_go_to_stderr(capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger("samdistill.progress"), "propagate", False)
    list(track(range(3), "report", terminal=False))
    assert capsys.readouterr().err.splitlines()[-1].startswith("report: 3/3 (100%)")


def test_disabled_prints_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="samdistill.progress"):
        assert list(track([1, 2], "x", enabled=False, terminal=False)) == [1, 2]
    assert not caplog.records and not capsys.readouterr().err


def test_stage_line_eta():
    import time

    line = stage_line("train a", 5, 10, time.monotonic() - 10.0, unit="step")
    assert line.startswith("train a: 5/10 (50%) | 0.5 step/s, 0m10s left")
