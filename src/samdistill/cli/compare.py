"""`samdistill compare RUN_A RUN_B [...]`: the paper-style table of runs with paired bootstrap CIs."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from samdistill.cli.common import user_errors


def compare(
    runs: List[str] = typer.Argument(..., metavar="RUN_A RUN_B [RUN ...]",
                                     help="evaluation JSONs (metrics.json of `samdistill eval`), or run folders holding "
                                          "them (their metrics.json, else every metrics.json up to 3 levels below, one "
                                          "per dataset); the first run is the reference of every difference"),
    names: Optional[str] = typer.Option(None, "--names", metavar="A,B,...", help="labels of the runs (default: folder names)"),
    out: Path = typer.Option(Path("comparison"), "--out", "-o", help="writes comparison.md, comparison.csv and comparison.json here"),
    html: Optional[Path] = typer.Option(None, "--html", metavar="DIR",
                                        help="also write a self-contained HTML report (index.html + PNG files) into DIR: "
                                             "the table, the images where the second run gains and loses most against "
                                             "the first, input | A | B | GT crops with a zoomed detail, per-image "
                                             "metrics; needs the restored images (eval with eval.save_images=true)"),
    resamples: int = typer.Option(10_000, "--resamples", min=1, help="bootstrap resamples"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="confidence level of the intervals"),
    top: int = typer.Option(3, "--top", min=1, help="HTML: images shown on each side (largest gains, largest losses)"),
    metric: str = typer.Option("psnr", "--metric", help="HTML: per-image metric that ranks gains and losses: psnr, ssim or lpips"),
) -> None:
    """Compare runs: per dataset PSNR↑ SSIM↑ FID↓ LPIPS↓ and downstream segmentation scores of each run, a "+" row with each run's difference to the first, and for every difference a paired bootstrap confidence interval over images and how many images improved.

    Runs must have scored the same images (matched by name); otherwise the error names the missing images.

    Example: samdistill compare runs/baseline runs/sam4ir --html report/
    """
    import csv

    from samdistill.cli.metrics import stdout
    from samdistill.compare.runs import load_runs
    from samdistill.compare.table import compare_runs, csv_rows, markdown
    from samdistill.core.json_safe import write_json

    labels = [n.strip() for n in names.split(",")] if names else None
    with user_errors():
        loaded = load_runs(runs, labels)
        comparison = compare_runs(loaded, resamples, seed, confidence)
        out.mkdir(parents=True, exist_ok=True)
        text = markdown(comparison)
        (out / "comparison.md").write_text(text, encoding="utf-8")
        write_json(out / "comparison.json", comparison)
        with (out / "comparison.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(csv_rows(comparison))
        page = None
        if html is not None:
            from samdistill.compare.html import write_html

            page = write_html(html, loaded, comparison, top=top, metric=metric)
    typer.echo(text)
    stdout.print(f"wrote {out / 'comparison.md'}, comparison.csv and comparison.json" + (f"; HTML report {page}" if page else ""))


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
