"""`samdistill` command line. Each subcommand lives in its own module with `register(app)`."""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="samdistill",
    help=(
        "Use SAM only at training time to make small restoration networks better (SAM4IR), "
        "and ship them at exactly their original speed.\n\n"
        "Start with `samdistill demo --quick`. Every subcommand has its own --help."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order here is the order in --help.
_COMMAND_MODULES = (
    "demo",
    "train",
    "evaluate",
    "eval_seg",
    "restore",
    "segment",
    "metrics",
    "compare",
    "priors",
    "export",
    "convert",
    "models",
    "data",
)

for _name in _COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"samdistill.cli.{_name}")
    except ModuleNotFoundError as _err:
        if _err.name != f"samdistill.cli.{_name}":
            raise
        continue
    _mod.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
