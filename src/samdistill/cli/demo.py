"""`samdistill demo`: the README's first command."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from samdistill.cli.common import OVERRIDES_HELP, console, user_errors


def demo(
    out: Path = typer.Option(Path("demo_report"), "--out", "-o", help="report folder (runs go inside it)"),
    quick: bool = typer.Option(False, "--quick", help="short profile (< 3 min on 2 CPU cores) instead of the full one (< 15 min)"),
    sam_checkpoint: Optional[Path] = typer.Option(
        None, "--sam-checkpoint", help="use real SAM (HF directory or sam_vit_*.pth) instead of the offline segmenter"
    ),
    vgg_weights: Optional[Path] = typer.Option(
        None, "--vgg-weights", help="torchvision-format vgg16 weights for SGR (default: weight-free stand-in)"
    ),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
) -> None:
    """Train the tiny network on embedded-rain twice — plain and with SAM4IR — and report the gain.

    Everything is offline: the benchmark is built from photos shipped inside installed packages,
    and without a SAM checkpoint the priors come from a classical segmenter (the log says so).
    """
    from samdistill.report.demo import run_demo

    extra = list(overrides or [])
    if sam_checkpoint is not None:
        extra += [f"priors.sam.checkpoint={sam_checkpoint}", "priors.backend=sam"]
    if vgg_weights is not None:
        extra += [f"sam4ir.sgr.vgg_weights={vgg_weights}", "sam4ir.sgr.features=vgg16"]
    with user_errors():
        summary = run_demo(out, "quick" if quick else "full", extra)
    rows = summary["rows"]
    console.print(f"\n[bold]embedded-rain[/] ({summary['profile']}, {summary['steps']} steps, {summary['prior']} prior)")
    for label, (psnr, ssim) in rows.items():
        console.print(f"  {label:<18} PSNR {psnr:8.3f} dB   SSIM {ssim:.4f}")
    console.print(f"report: {out / 'report.md'} (also report.html, strip.png, curves.png)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
