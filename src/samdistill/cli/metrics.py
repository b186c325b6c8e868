"""`samdistill metrics`: PSNR/SSIM of a folder of restored images against a ground-truth folder."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from samdistill.cli.common import console, user_errors

stdout = Console()


def results_table(report: dict, keys: tuple[str, ...], title: str) -> Table:
    """Per-image rows and a bold mean row."""
    from samdistill.inference.evaluate import COLUMN_TITLES, format_value

    table = Table("image", *(COLUMN_TITLES[k] for k in keys), title=title)
    for row in report["images"]:
        table.add_row(row["name"], *(format_value(k, row[k]) for k in keys))
    table.add_section()
    table.add_row("[bold]mean[/]", *(f"[bold]{format_value(k, report['mean'][k])}[/]" for k in keys))
    return table


def metrics(
    pred: Path = typer.Option(..., "--pred", help="folder of restored images, named after their inputs (as `restore` writes them)"),
    gt: Path = typer.Option(..., "--gt", help="folder of ground-truth images"),
    y_channel: bool = typer.Option(False, "--y-channel", help="score the Y channel of YCbCr (BT.601, MATLAB/BasicSR convention), as deraining papers do; default: RGB"),
    crop_border: int = typer.Option(0, "--crop-border", min=0, help="pixels removed from every side before scoring"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="also write the per-image scores and means to this JSON file (inf PSNR is written as \"inf\")"),
    layout: str = typer.Option("same", "--layout", help="how prediction and ground-truth names pair: same (identical "
                               "names), rain200 (norain-1x2 vs norain-1), ddn (3_7 vs 3: 14 rainy versions per image), "
                               "sidd (..._NOISY_... vs ..._GT_...)"),
    pattern: Optional[str] = typer.Option(None, "--pattern", help="instead of --layout: a regex whose group 1 is the "
                                          "ground-truth name of a prediction's file name (without extension)"),
) -> None:
    """PSNR (dB) and SSIM of every image pair, and their means.

    Images are scored as 8-bit files. Files without a partner, unreadable or of a different
    size are listed by path and left out of the means; the command then exits with code 1.
    """
    from samdistill.core.json_safe import write_json
    from samdistill.inference.evaluate import FOLDER_KEYS, compare_folders

    with user_errors():
        report = compare_folders(pred, gt, y_channel=y_channel, crop_border=crop_border, layout=layout, pattern=pattern)
    space = "Y channel" if y_channel else "RGB"
    stdout.print(results_table(report, FOLDER_KEYS, f"{pred} vs {gt} ({space}, crop {crop_border})"))
    if out is not None:
        write_json(out, report)
        stdout.print(f"wrote {out}")
    if report["problems"]:
        console.print(f"[bold yellow]warning:[/] {len(report['problems'])} file(s) not scored:", highlight=False)
        for problem in report["problems"]:
            console.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
