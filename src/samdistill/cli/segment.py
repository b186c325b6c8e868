"""`samdistill segment`: label maps and color overlays of panoramas with a trained segmentation network."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import console, user_errors

SLIDING_HELP = ("sliding-window inference: full-height windows WINDOW px wide every STRIDE px, e.g. 512x384; "
                "windows continue across the 360° seam (see --wrap) and their logits are averaged where they "
                "overlap (default: the whole image in one pass)")


def sliding_option(value: Optional[str]):
    """Typer callback: "WINDOWxSTRIDE" -> (window, stride), with a usage error for bad text."""
    from samdistill.inference.segment import parse_sliding

    try:
        return parse_sliding(value)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="'--sliding'") from None


def segment(
    input: Path = typer.Argument(..., help="an image (an equirectangular panorama, or any image), or a folder (its top-level images)"),
    output: Path = typer.Argument(..., help="output folder (created): <name>_labelTrainIds.png and <name>_color.png per image"),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help="the segmentation network: a GoodSAM student's model.safetensors, or a Hugging Face SegFormer folder"),
    sliding: Optional[str] = typer.Option(None, "--sliding", metavar="WINDOWxSTRIDE", help=SLIDING_HELP),
    wrap: bool = typer.Option(True, "--wrap/--no-wrap", help="sliding windows cross the 360° seam (panoramas); --no-wrap for ordinary images (the last window is aligned to the right edge)"),
    overlay: bool = typer.Option(True, "--overlay/--no-overlay", help="<name>_color.png: the Cityscapes palette blended over the image, or (--no-overlay) the pure palette colors"),
    alpha: float = typer.Option(0.5, "--alpha", min=0.0, max=1.0, help="weight of the colors in the overlay"),
    batch_size: int = typer.Option(4, "--batch-size", "-b", min=1, help="windows per forward pass"),
    device: str = typer.Option("auto", "--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ..."),
) -> None:
    """Segment panoramas with the shipped student (no SAM, no teacher).

    Label files hold uint8 class ids: the 19 Cityscapes train ids (or the 13 CS13 ids for a 13-class network). Inputs are never overwritten. An image that cannot be read or that the network cannot take (e.g. 1x1 pixels, narrower than one sliding window) is reported in one line and skipped; the others are still segmented, and the command exits with code 2 listing the skipped files.
    """
    from samdistill.inference.segment import segment_paths

    window = sliding_option(sliding)
    with user_errors():
        summary = segment_paths(input, output, checkpoint, sliding=window, wrap=wrap, overlay_image=overlay,
                                alpha=alpha, device=device, batch_size=batch_size)
    mode = "whole image" if window is None else f"sliding {window[0]}x{window[1]}{'' if wrap else ', no wrap'}"
    console.print(f"segmented {len(summary.labels)} image(s) ({mode}) into {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("segment")(segment)
