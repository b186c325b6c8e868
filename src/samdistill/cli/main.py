"""`samdistill` command line. Each subcommand lives in its own module with `register(app)`."""
from __future__ import annotations

import importlib
import inspect

import typer

app = typer.Typer(
    name="samdistill",
    help=(
        "Use SAM only at training time to make small networks better, and ship them at exactly their "
        "original speed: restoration networks (SAM4IR) and 360° panoramic segmenters (GoodSAM).\n\n"
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


def _reflow(doc: str) -> str:
    """Join the lines of each docstring paragraph so --help wraps them to the terminal, not at the
    source's line breaks; paragraphs holding lists or indented examples keep their lines."""
    out = []
    for para in doc.strip().split("\n\n"):
        lines = para.splitlines()
        keep = any(ln.lstrip().startswith(("-", "*", "samdistill ")) or ln.startswith("  ") for ln in lines)
        out.append(para if keep else " ".join(ln.strip() for ln in lines))
    return "\n\n".join(out)


def _reflow_help(typer_app: typer.Typer) -> None:
    for cmd in typer_app.registered_commands:
        if cmd.help is None and cmd.callback is not None and cmd.callback.__doc__:
            cmd.help = _reflow(inspect.getdoc(cmd.callback))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
