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
        None, "--out", "-o", help="overlay PNG to write (default: <image name>_masks.png beside the image)"
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
        # beside the image, never the working directory (that may be a repository or anyone's folder)
        target = out if out is not None else image.with_name(f"{image.stem}_masks.png")
        save_overlay(target, pixels, masks)
    typer.echo(f"{len(masks)} masks; segmenter: {describe_fingerprint(provider.fingerprint())}")
    typer.echo(f"overlay written to {target}")


@priors_app.command("plan")
def plan_command(
    config: Path = typer.Option(..., "--config", "-c", help="experiment YAML (data, train.steps, sam4ir, priors)"),
    time_one: bool = typer.Option(
        False, "--time/--no-time", help="also segment one training image here (after one warm-up) and multiply"
    ),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
) -> None:
    """How many images the segmenter will segment over the run (restored priors re-segment IR1's
    output of every train + val pair at each refresh; sam4ir.refresh_fraction rotates a share)."""
    from samdistill.config.loader import load_config
    from samdistill.data.layouts import resolve_pairs
    from samdistill.sam4ir.plan import distinct_pairs, plan_restored_priors

    with user_errors():
        cfg = load_config(config, list(overrides or []))
        s4 = cfg.sam4ir
        if not s4.enabled or not (s4.spf.enabled and s4.spf_prior == "masks" or s4.sgr.enabled):
            typer.echo("this run uses no masks (sam4ir disabled, or neither SPF with masks nor SGR): nothing to segment")
            return
        sets = [cfg.data.train]
        if cfg.data.val is not None:  # validation is cut to data.val_limit as build_dataloader cuts it
            limits = [n for n in (cfg.data.val_limit, cfg.data.val.limit) if n is not None]
            sets.append(cfg.data.val.model_copy(update={"limit": min(limits) if limits else None}))
        pairs = distinct_pairs([resolve_pairs(ds) for ds in sets])
        if s4.prior_source == "restored":
            plan = plan_restored_priors(s4, cfg.train.steps, len(pairs))
            images = plan.images
            typer.echo(plan.summary())
            if s4.refresh_fraction < 1:
                typer.echo(f"refresh_fraction {s4.refresh_fraction:g}: after the first refresh each one segments one "
                           f"of {plan.cycle} shares of the pairs")
        else:
            images = len(pairs)
            typer.echo(f"{s4.prior_source} priors: {images} images segmented once, then read from the mask cache "
                       f"({cfg.priors.cache_dir or '~/.cache/samdistill/masks'})")
        if time_one:
            seconds = _time_one_segmentation(cfg, pairs[0])
            typer.echo(f"segmenter: {seconds:.2f} s per image here -> about {seconds * images / 3600:.2f} h of "
                       "segmentation over the run on this device")


def _time_one_segmentation(cfg, pair) -> float:
    """Seconds to segment the pair's LQ image once, after one untimed warm-up call."""
    import time

    from samdistill.data.io import read_image
    from samdistill.priors.segmenter import build_segmenter

    seg = build_segmenter(cfg.priors)
    lq, gt = read_image(pair.lq, box=pair.lq_box), read_image(pair.gt, box=pair.gt_box)
    by_reference = getattr(seg, "segment_by_reference", None)
    run = (lambda: by_reference(lq, gt)) if by_reference is not None else (lambda: seg(lq))  # noqa: E731
    run()
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


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
