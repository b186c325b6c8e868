"""`samdistill restore`: run a trained network on an image or a folder of images."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import console, user_errors
from samdistill.cli.convert import ARGS_HELP, BACKBONE_HELP, CHECKPOINT_HELP


def restore(
    input: Path = typer.Argument(..., help="an image file, or a folder (its top-level images are restored)"),
    output: Path = typer.Argument(..., help="output folder (created; file names are kept, extension .png), or a .png file for a single input"),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help=CHECKPOINT_HELP),
    tile: int = typer.Option(0, "--tile", min=0, help="restore in tiles of N x N pixels to bound memory on large images (0: whole image)"),
    tile_overlap: int = typer.Option(32, "--tile-overlap", min=0, help="pixels shared by neighbouring tiles; each tile's outer half of it is discarded"),
    device: str = typer.Option("auto", "--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ..."),
    suffix: str = typer.Option("", "--suffix", help="added to each output file name, e.g. _restored"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help=BACKBONE_HELP),
    args: Optional[str] = typer.Option(None, "--args", metavar="JSON", help=ARGS_HELP),
) -> None:
    """Restore images with the shipped network. Inputs are never overwritten.

    Unreadable images are reported and skipped; the others are still restored, and the command
    exits with code 2 listing the skipped files.
    """
    from samdistill.inference.restore import restore_path

    with user_errors():
        summary = restore_path(input, output, checkpoint, device=device, tile=tile,
                               overlap=tile_overlap, suffix=suffix, backbone=backbone, backbone_args=args)
    console.print(f"restored {len(summary.written)} image(s) into {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("restore")(restore)
