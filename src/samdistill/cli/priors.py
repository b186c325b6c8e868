"""`samdistill priors`: fill the mask cache for a dataset, or look at one image's masks."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from samdistill.cli.common import OVERRIDES_HELP, user_errors

priors_app = typer.Typer(
    help="Semantic priors: SAM masks (or the offline stand-in) and their cache.", no_args_is_help=True
)


@priors_app.command("precompute")
def precompute_command(
    config: Path = typer.Option(
        ..., "--config", "-c", help="experiment YAML (its data and priors sections are used)"
    ),
    split: str = typer.Option(
        "train", "--split", help="which dataset of the config: train (data.train) or test (data.val)"
    ),
    source: str = typer.Option("lq", "--source", help="segment the degraded inputs (lq) or the clean targets (gt)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
) -> None:
    """Segment every image of a dataset once and store the masks in the cache (priors.cache_dir).

    Resumes where it stopped: already cached images are skipped. Launched on several processes
    (`accelerate launch --multi_gpu -m samdistill.cli.main priors precompute ...`, or torchrun)
    the images are split between them.
    """
    from samdistill.config.loader import load_config
    from samdistill.priors.precompute import precompute
    from samdistill.priors.segmenter import describe_fingerprint

    with user_errors():
        cfg = load_config(config, list(overrides or []))
        stats = precompute(cfg, split=split, source=source, progress=progress)
    who = f"rank {stats.rank}/{stats.world}: " if stats.world > 1 else ""
    typer.echo(
        f"{who}{stats.computed} computed, {stats.cached} already cached "
        f"({stats.assigned} of the {stats.total} {split} images) -> {stats.cache_dir}"
    )
    typer.echo(f"segmenter: {describe_fingerprint(stats.segmenter)}")


@priors_app.command("show")
def show_command(
    image: Path = typer.Argument(..., help="image to segment (PNG, JPEG, TIFF, ...)"),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="overlay PNG to write (default: <image name>_masks.png here)"
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="experiment YAML whose priors section to use (default: built-in defaults)"
    ),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="read/write the mask cache (priors.cache_dir)"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
) -> None:
    """Segment one image and draw its masks over it (says whether SAM or the offline segmenter ran)."""
    from samdistill.config.loader import load_config
    from samdistill.data.io import read_image
    from samdistill.priors.overlay import save_overlay
    from samdistill.priors.provider import PriorProvider
    from samdistill.priors.segmenter import describe_fingerprint

    with user_errors():
        cfg = load_config(config, list(overrides or []))
        pixels = read_image(image)
        provider = PriorProvider(cfg.priors, cache=cache)
        masks = provider.masks_for(pixels)
        target = out if out is not None else Path(f"{image.stem}_masks.png")
        save_overlay(target, pixels, masks)
    typer.echo(f"{len(masks)} masks; segmenter: {describe_fingerprint(provider.fingerprint())}")
    typer.echo(f"overlay written to {target}")


def register(app: typer.Typer) -> None:
    app.add_typer(priors_app, name="priors")


@priors_app.command("backends")
def backends_command() -> None:
    """List the segmenters `priors.backend` can name, whether each is usable here, and the fields
    of its cache fingerprint (a change of any of them gives new cache entries).

    `auto` picks `sam` when priors.sam.checkpoint is set, else `offline`.
    """
    from samdistill.priors.segmenter import BACKENDS

    for info in BACKENDS.values():
        missing = info.missing()
        state = "available" if not missing else "not available: needs " + ", ".join(missing)
        typer.echo(f"{info.name}  ({state})")
        typer.echo(f"  {info.description}")
        typer.echo(f"  config: {info.config}")
        typer.echo(f"  fingerprint: {', '.join(info.fingerprint_fields)}")
        if info.note:
            typer.echo(f"    ({info.note})")
    typer.echo("auto  (the default): sam when priors.sam.checkpoint is set, else offline")
