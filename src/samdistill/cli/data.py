"""`samdistill data ...`: check a dataset's pairing, build the embedded benchmarks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from samdistill.cli.common import fail, user_errors

data_app = typer.Typer(help="Datasets: check LQ/GT pairing, build the offline embedded benchmarks and the street world, "
                       "draw labeled images.", no_args_is_help=True)
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
    crop_size: int = typer.Option(64, "--crop-size", min=0, help="every pair must hold a training crop this large "
                                  "(data.crop_size, default 64); 0: no size check (validation sets are not cropped)"),
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
        good, problems = validate_pairs(pairs, cfg, full_decode=not quick, crop_size=crop_size or None)
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
    name: str = typer.Argument(..., help="embedded-rain, embedded-noise, embedded-blur (package photos); "
                               "embedded-street-rain, -noise, -blur (street world renders); embedded-street, "
                               "embedded-pano (the street world itself)"),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", help="cache folder (default $SAMDISTILL_CACHE or ~/.cache/samdistill)"),
) -> None:
    """Build (or reuse) an offline benchmark from photos shipped in installed packages and print where it is."""
    from samdistill.data.embedded import ensure_embedded
    from samdistill.world.embedded import WORLD_NAMES, resolve_world_name

    if name in WORLD_NAMES:
        with user_errors():
            folder = resolve_world_name(name, cache_dir)
        typer.echo(str(folder))
        return
    with user_errors():
        folder = ensure_embedded(name, cache_dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    out.print(f"{name}: {counts['train']} train / {counts['test']} test pairs")
    typer.echo(str(folder))


def _size(text: str, option: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected HEIGHTxWIDTH such as 128x256, got {text!r}", param_hint=option)
    return h, w


@data_app.command("world")
def world(
    out_dir: Optional[Path] = typer.Option(None, "--out", help="folder to write (default: the embedded cache, "
                                           "where embedded-street / embedded-pano resolve)"),
    pinhole: int = typer.Option(200, "--pinhole", min=0, help="pinhole (source) training images, labeled"),
    pinhole_val: int = typer.Option(50, "--pinhole-val", min=0, help="pinhole validation images, labeled"),
    panoramas: int = typer.Option(100, "--panoramas", min=0, help="panorama (target) training images, unlabeled"),
    panoramas_val: int = typer.Option(40, "--panoramas-val", min=0, help="labeled panoramas to test on"),
    pinhole_size: str = typer.Option("128x256", "--pinhole-size", help="HEIGHTxWIDTH of the pinhole images"),
    pano_size: str = typer.Option("128x640", "--pano-size", help="HEIGHTxWIDTH of the panoramas (360 degrees wide)"),
    hfov: float = typer.Option(70.0, "--hfov", min=10.0, max=170.0, help="pinhole horizontal field of view, degrees"),
    vfov: float = typer.Option(70.0, "--vfov", min=10.0, max=179.0, help="panorama vertical field of view, degrees"),
    seed: int = typer.Option(0, "--seed", help="world seed: the same seed gives the same bytes"),
    domain_shift: bool = typer.Option(True, "--domain-shift/--no-domain-shift", help="panoramas differ from the "
                                      "pinhole images in scenes and style too (time of day, haze, tone curve, noise), "
                                      "as DensePASS differs from Cityscapes; --no-domain-shift: projection only"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing world in --out"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
) -> None:
    """Render the street world: pinhole photos in Cityscapes' layout, 360-degree panoramas in DensePASS'
    layout, with train-id labels, instance / segment / part maps and 16-bit depth (see the README)."""
    from samdistill.world.build import WorldBuildConfig, build_world
    from samdistill.core.cache_dir import build_atomically
    from samdistill.world.embedded import world_dir

    try:
        cfg = WorldBuildConfig(pinhole, pinhole_val, panoramas, panoramas_val, _size(pinhole_size, "--pinhole-size"),
                               _size(pano_size, "--pano-size"), hfov, vfov, seed, domain_shift)
    except ValueError as err:
        fail(str(err))
        return
    target = out_dir or world_dir()
    if out_dir is None and cfg != WorldBuildConfig():
        fail("the embedded cache holds the default world only (what embedded-street / embedded-pano name): "
             "give --out for other settings")
        return
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            fail(f"{target} is not empty: pass --overwrite to replace it, or choose another --out")
            return
        if not (target / "manifest.json").is_file():
            fail(f"{target} is not a street world (no manifest.json): refusing to replace it, choose another --out")
            return
    with user_errors():
        build_atomically(target, lambda tmp: build_world(tmp, cfg, progress=progress))
    out.print(f"street world: {pinhole} + {pinhole_val} pinhole (train + val), "
              f"{panoramas} + {panoramas_val} panoramas (unlabeled train + labeled val)")
    typer.echo(str(target))


@data_app.command("show")
def show(
    image: Path = typer.Argument(..., help="an image of a Cityscapes / DensePASS / street-world layout"),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG to write (default: <image name>_show.png here)"),
    label: Optional[Path] = typer.Option(None, "--label", help="label file (default: found by the layout's naming)"),
    segments: Optional[Path] = typer.Option(None, "--segments", help="instance / segment id map (default: found "
                                            "by the layout's naming)"),
) -> None:
    """Draw an image beside its label colors (Cityscapes palette) and its instance borders, as one PNG."""
    from PIL import Image

    from samdistill.data.io import read_image
    from samdistill.data.segmentation.show import companions, load_ids, load_train_ids, render_panel

    with user_errors():
        pixels = read_image(image)
        found_label, found_segments = companions(image)
        label, segments = label or found_label, segments or found_segments
        train_ids = load_train_ids(label) if label else None
        ids = load_ids(segments) if segments else None
        for name, arr in (("label", train_ids), ("segments", ids)):
            if arr is not None and arr.shape != pixels.shape[:2]:
                fail(f"{label if name == 'label' else segments}: {name} is {arr.shape[0]}x{arr.shape[1]} but "
                     f"{image} is {pixels.shape[0]}x{pixels.shape[1]}")
                return
        target = out_file or Path(f"{image.stem}_show.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(render_panel(pixels, train_ids, ids)).save(target)
    typer.echo(f"label: {label or 'none found'}; segments: {segments or 'none found'}")
    typer.echo(f"written to {target}")


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
