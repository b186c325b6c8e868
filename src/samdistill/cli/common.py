"""Small helpers shared by subcommands: config loading with overrides, friendly errors."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)

OVERRIDES_HELP = "config overrides, e.g. train.steps=500 data.batch_size=4 (repeatable, after the options)"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's own input errors into a one-line message and exit code 2 (no traceback)."""
    from samdistill.core.errors import CheckpointError, ConfigError

    handled: tuple[type[BaseException], ...] = (ConfigError, CheckpointError, FileNotFoundError)
    try:
        from samdistill.core.errors import DataError  # noqa: WPS433 (optional until data lands)

        handled += (DataError,)
    except ImportError:
        pass
    try:
        yield
    except handled as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, markup=True)
        sys.exit(2)


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)
