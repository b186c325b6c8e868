"""`samdistill models`: list the registered backbones, or show one's size and SPF attach points."""
from __future__ import annotations

import typer
from rich.table import Table

from samdistill.cli.common import console, fail

models_app = typer.Typer(help="Registered restoration backbones.", no_args_is_help=True)


@models_app.command("list")
def list_models() -> None:
    """Every registered network (restoration backbones, segmenters) with its task and parameter count
    at the default arguments (`samdistill models show NAME` builds one and lists its SPF attach points)."""
    from samdistill.models.catalog import CATALOG  # no torch: the list must show in well under 2 s

    table = Table("name", "task", "params (M)")
    for name, (task, params) in sorted(CATALOG.items()):
        table.add_row(name, task, "(needs args)" if params is None else f"{params / 1e6:.2f}")
    console.print(table)


@models_app.command("show")
def show(name: str = typer.Argument(..., help="registered backbone name")) -> None:
    """Parameter count, input multiple and the SPF attach points (building blocks) of a backbone."""
    from samdistill.models.registry import create_backbone, pad_multiple, spf_attach_points

    try:
        model = create_backbone(name)
    except (KeyError, TypeError) as err:
        fail(str(err))
    n = sum(p.numel() for p in model.parameters())
    console.print(f"{name}: {type(model).__name__}, {n:,} parameters, input multiple {pad_multiple(model)}")
    console.print("SPF attach points (one SPF unit each in IR2):")
    for p in spf_attach_points(model):
        console.print(f"  {p}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
