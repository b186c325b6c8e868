"""Progress of a long stage (training, evaluation, a demo's steps) that a user can follow anywhere:
a tqdm bar with the stage's name and ETA on a terminal, and where stderr is not one (a log file, a
batch job, CI) a line per log point instead, `eval baseline: 12/40 (30%) | 2.10 img/s, 0m13s left`,
because a bar's carriage returns make one unreadable line of a log file.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

logger = logging.getLogger("samdistill.progress")

T = TypeVar("T")

LOG_POINTS = 10  # lines per stage when there is no terminal (plus the last)


def eta_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def stage_line(name: str, done: int, total: int, started: float, unit: str = "it") -> str:
    """`name: done/total (p%) | rate unit/s, XmYYs left` (the rate over the whole stage so far)."""
    elapsed = max(time.monotonic() - started, 1e-9)
    rate = done / elapsed
    left = (total - done) / rate if rate > 0 else 0.0
    return (f"{name}: {done}/{total} ({100 * done // max(total, 1)}%) | {rate:.3g} {unit}/s, "
            f"{eta_text(left)} left")


def track(items: Iterable[T], name: str, total: Optional[int] = None, unit: str = "it", enabled: bool = True,
          terminal: Optional[bool] = None) -> Iterator[T]:
    """Iterate `items`, showing the stage's progress: a bar on a terminal, else LOG_POINTS lines
    (logged at INFO on `samdistill.progress`). `terminal` overrides the isatty() test (tests)."""
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    if not enabled:
        yield from items
        return
    on_terminal = sys.stderr.isatty() if terminal is None else terminal
    if on_terminal or not total:
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=name, unit=unit, dynamic_ncols=True)
        return
    every = max(1, total // LOG_POINTS)
    started, done = time.monotonic(), 0
    for item in items:
        yield item
        done += 1
        if done % every == 0 or done == total:
            say(stage_line(name, done, total, started, unit))


def say(line: str) -> None:
    """A progress line: logged (the CLI's handler prints it), or on stderr where no command set up
    logging (a library caller), so it is never lost to an unconfigured logger."""
    if logger.hasHandlers():
        logger.info(line)
    else:
        print(line, file=sys.stderr, flush=True)
