"""Log output of the commands that run long (train): samdistill's INFO lines (start-up summary,
"resumed from step N", periodic progress without a terminal) and warnings on stderr, once per
process; other processes of a multi-process run show warnings only."""
from __future__ import annotations

import logging
import sys


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it per command)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(main_process: bool = True) -> None:
    log = logging.getLogger("samdistill")
    if any(getattr(h, "_samdistill", False) for h in log.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(_Format("%(message)s"))
    handler._samdistill = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO if main_process else logging.WARNING)
