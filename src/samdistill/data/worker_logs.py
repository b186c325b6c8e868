"""Each warning once per run, not once per DataLoader worker (nor once per epoch, as workers are
started again every epoch): workers share a folder in which the first to emit a message claims
it with an exclusive create; the others stay silent about it. Item-specific messages (naming a
file) are unique anyway and always shown."""
from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path


def claim(folder: Path, text: str) -> bool:
    """True for the first process of the run that asks about `text`."""
    key = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()
    try:
        os.close(os.open(folder / key, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False
    except OSError:  # folder gone (run ending): better a repeat than a lost message
        return True


class _OncePerRun(logging.Filter):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING or claim(self.folder, f"{record.levelno}:{record.getMessage()}")


class WorkerWarningsOnce:
    """A DataLoader `worker_init_fn` (picklable): install the filters in each worker."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="samdistill-worker-warnings-"))
        atexit.register(shutil.rmtree, self.folder, ignore_errors=True)

    def __call__(self, worker_id: int) -> None:
        once = _OncePerRun(self.folder)
        loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                          if isinstance(lg, logging.Logger))]
        for handler in {h for lg in loggers for h in lg.handlers} | {logging.lastResort} - {None}:
            handler.addFilter(once)
        shown = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            if claim(self.folder, f"{category.__name__}:{message}"):
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = showwarning
