"""`samdistill data ...`: check a dataset's pairing, build the embedded benchmarks."""
from __future__ import annotations

from typing import Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from samdistill.cli.common import fail, user_errors

data_app = typer.Typer(help="Inspect restoration datasets: check LQ/GT pairing, build the offline embedded benchmarks.",
                       no_args_is_help=True)
out = Console()

LAYOUT_HELP = "folder layout: rain200, restormer, didmdn, ddn, gopro, sidd, folders, embedded"


@data_app.command("check")
def check(
    layout: str = typer.Option(..., "--layout", help=LAYOUT_HELP),
    root: Optional[str] = typer.Option(None, "--root", help="dataset root folder (not for --layout embedded)"),
    split: str = typer.Option("train", "--split", help="train or test: the split folder for gopro/restormer/embedded"),
    name: str = typer.Option("embedded-rain", "--name", help="embedded benchmark name (--layout embedded)"),
    lq_dir: Optional[str] = typer.Option(None, "--lq-dir", help="folders layout: degraded images, relative to root"),
    gt_dir: Optional[str] = typer.Option(None, "--gt-dir", help="folders layout: clean images, relative to root"),
    pattern: Optional[str] = typer.Option(None, "--pattern", help="folders layout: regex whose group 1 is the pairing key of an LQ name"),
    lq_side: str = typer.Option("left", "--didmdn-lq-side", help="didmdn layout: which half (left/right) is the rainy one"),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help="embedded layout: cache folder (default $SAMDISTILL_CACHE or ~/.cache/samdistill)"),
    quick: bool = typer.Option(False, "--quick", help="read image headers only instead of decoding every image (faster, misses truncated files)"),
    show: int = typer.Option(5, "--show", help="how many pairs to list in the table"),
) -> None:
    """Validate the LQ/GT pairing of a dataset and list EVERY problem. Exit code 1 when there are problems."""
    from samdistill.data.config import DatasetConfig
    from samdistill.data.layouts import dataset_root, find_pairs, validate_pairs

    try:
        cfg = DatasetConfig(layout=layout, root=root, split=split, name=name, lq_dir=lq_dir, gt_dir=gt_dir,
                            pattern=pattern, didmdn_lq_side=lq_side, cache_dir=cache_dir)
    except ValidationError as err:
        fail("invalid options: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in err.errors()))
        return
    with user_errors():
        pairs = find_pairs(cfg)
        good, problems = validate_pairs(pairs, cfg, full_decode=not quick)
        location = dataset_root(cfg)
    out.print(_summary(cfg.layout, str(location), len(pairs), good, problems, show))
    if problems:
        out.print(f"[bold red]{len(problems)} problem(s):[/]")
        for problem in problems:
            typer.echo(f"  {problem}")  # plain, unwrapped: paths stay copy-pasteable
        raise typer.Exit(1)
    if not good:
        out.print("[bold red]no image pairs found[/]")
        raise typer.Exit(1)
    out.print("[green]all pairs OK[/]")


@data_app.command("build-embedded")
def build_embedded(
    name: str = typer.Argument(..., help="embedded-rain, embedded-noise or embedded-blur"),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help="cache folder (default $SAMDISTILL_CACHE or ~/.cache/samdistill)"),
) -> None:
    """Build (or reuse) an offline benchmark from photos shipped in installed packages and print where it is."""
    import json

    from samdistill.data.embedded import ensure_embedded

    with user_errors():
        folder = ensure_embedded(name, cache_dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    out.print(f"{name}: {counts['train']} train / {counts['test']} test pairs")
    typer.echo(str(folder))


def _summary(layout: str, root: str, found: int, good: list, problems: list[str], show: int) -> Table:
    table = Table(title=f"{layout} dataset at {root}", show_header=True, caption_justify="left")
    table.add_column("name")
    table.add_column("LQ (relative to the root)")
    table.add_column("GT")
    for pair in good[:show]:
        table.add_row(pair.name, _relative(pair.lq, root), _relative(pair.gt, root))
    if len(good) > show:
        table.add_row(f"... {len(good) - show} more", "", "")
    table.caption = f"pairs found: {found}   good: {len(good)}   problems: {len(problems)}"
    return table


def _relative(path, root: str) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
