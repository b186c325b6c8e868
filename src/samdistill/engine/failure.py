"""What the trainer says when something stops a run: which file (for a data error, also one
raised inside a DataLoader worker, which torch re-raises as a RuntimeError holding the worker's
traceback as text), and where the last good state was saved."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from samdistill.core.errors import DataError

_WORKER_MARK = "Original Traceback (most recent call last)"
_EXCEPTION_LINE = re.compile(r"^(?P<type>[\w.]+(?:Error|Exception|Interrupt)): (?P<message>.*)$")


@dataclass
class Failure:
    text: str                                 # one line for the user
    replacement: Optional[Exception] = None   # raise this instead (a worker's DataError, unwrapped)


def describe_failure(err: BaseException, batch_names: list[str] = ()) -> Failure:
    text = str(err).strip()
    if _WORKER_MARK in text:
        last = [line for line in text.splitlines() if line.strip()][-1].strip()
        match = _EXCEPTION_LINE.match(last)
        if match and (".data." in match["type"] or match["type"].endswith(("DataError", "ReadError"))):
            return Failure(match["message"], DataError(match["message"]))
        return Failure(last)
    if isinstance(err, DataError):
        return Failure(text)
    if isinstance(err, KeyboardInterrupt):
        return Failure("interrupted (Ctrl-C)")
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    if batch_names:
        text += f" (while training on {', '.join(batch_names[:8])}{' ...' if len(batch_names) > 8 else ''})"
    return Failure(text)


def stop_message(err: BaseException, failure: Failure, good_step: int, checkpoint: Optional[Path],
                 num_processes: int) -> str:
    head = "training interrupted" if isinstance(err, KeyboardInterrupt) else f"training stopped: {failure.text}"
    if checkpoint is None:
        return f"{head}; no checkpoint to continue from"
    where = f"the last good state (step {good_step}) is saved in {checkpoint}"
    if isinstance(err, FloatingPointError):
        where = f"the last checkpoint before the divergence is {checkpoint}"
    exact = "" if num_processes == 1 else " (from one process's random state: not bit-identical with several)"
    run_dir = checkpoint.parent.parent  # <run>/checkpoints/step_N: the run folder holds its config.yaml
    return f"{head}\n{where}; continue with `samdistill train --resume {run_dir}`{exact}"
