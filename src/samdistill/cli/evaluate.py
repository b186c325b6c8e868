"""`samdistill eval`: score a trained network on a config's validation dataset."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from samdistill.cli.common import OVERRIDES_HELP, console, user_errors
from samdistill.cli.convert import ARGS_HELP, BACKBONE_HELP, CHECKPOINT_HELP


def evaluate(
    config: Path = typer.Option(..., "--config", "-c", help="experiment YAML; its data.val dataset and eval section are used"),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help=CHECKPOINT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for metrics.json and metrics.md (default: <output_dir>/eval)"),
    device: str = typer.Option("auto", "--device", help="auto (cuda, then mps, then cpu), cpu, cuda, ..."),
    fid_weights: Optional[Path] = typer.Option(
        None, "--fid-weights", metavar="PATH",
        help="pytorch-fid's Inception file pt_inception-2015-12-05-6726825d.pth (supply it: it cannot be "
             "downloaded here); adds FID of the restored and of the input images against the GT set"),
    fid_resize: str = typer.Option(
        "pytorch-fid", "--fid-resize", metavar="MODE",
        help="resize to 299x299 before the Inception: pytorch-fid (bilinear, as pytorch-fid) or clean-fid "
             "(PIL bicubic per channel, clean-fid's resize); the report names the mode"),
    lpips_weights: Optional[str] = typer.Option(
        None, "--lpips-weights", metavar="TRUNK,LINEAR",
        help="LPIPS files, comma separated: torchvision's alexnet-owt-7be5be79.pth (or vgg16-397923af.pth with "
             "--lpips-net vgg) and the lpips package's alex.pth (vgg.pth); adds per-image LPIPS"),
    lpips_net: str = typer.Option("alex", "--lpips-net", metavar="NET", help="LPIPS trunk: alex (lpips' default) or vgg"),
    segmenter: Optional[Path] = typer.Option(
        None, "--segmenter", metavar="PATH",
        help="downstream segmentation (the paper's Table 2): a Hugging Face SegFormer folder or a segmentation "
             "model.safetensors of this project; segments the restored, input and ground-truth images and scores "
             "IoU per class, mIoU, pixel accuracy and Dice against the labels"),
    labels: Optional[Path] = typer.Option(
        None, "--labels", metavar="DIR",
        help="with --segmenter: folder of label files named after the images (<name>_labelTrainIds.png, <name>.png, "
             "or <name>_labelIds.png); default: the dataset's own labels (raincityscapes gtFine/, embedded-street-*)"),
    seg_sliding: Optional[str] = typer.Option(None, "--seg-sliding", metavar="WINDOWxSTRIDE",
                                              help="with --segmenter: sliding-window inference (default: whole image)"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help=BACKBONE_HELP),
    args: Optional[str] = typer.Option(None, "--args", metavar="JSON", help=ARGS_HELP),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP + "; e.g. eval.y_channel=true eval.tile=256"),
) -> None:
    """PSNR/SSIM (and optionally FID and LPIPS) of the restored images and of the degraded inputs (the baseline to beat).

    FID and LPIPS need pretrained weight files (--fid-weights, --lpips-weights); without them they are skipped with a one-line note.
    Scores the config's data.val dataset with its eval section: eval.y_channel, eval.crop_border, eval.tile, eval.tile_overlap, and eval.save_images (write the restored images next to the metrics).
    Segmentation networks (GoodSAM students) are scored with `samdistill eval-seg` (mIoU, 19 or 13 classes).
    With --segmenter, a segmentation network also segments the restored, input and ground-truth images and the report adds their IoU per class, mIoU, pixel accuracy and Dice against the labels (the paper's Table 2); `samdistill compare` gives their differences with confidence intervals.
    """
    from samdistill.cli.metrics import results_table, stdout
    from samdistill.config.loader import load_config
    from samdistill.core.errors import ConfigError
    from samdistill.inference.evaluate import downstream_lines, evaluate_model, fid_lines, report_keys
    from samdistill.inference.restore import resolve_device
    from samdistill.inference.segment import checkpoint_task
    from samdistill.models.pretrained import is_restoration_input, load_restoration_model

    with user_errors():
        if (backbone is None and checkpoint.is_file() and not is_restoration_input(checkpoint)
                and checkpoint_task(checkpoint) == "segmentation"):
            raise ConfigError(f"{checkpoint} is a segmentation network; score it with `samdistill eval-seg "
                              f"--checkpoint {checkpoint} --root DATASET` (see samdistill eval-seg --help)")
        cfg = load_config(config, overrides or [])
        if cfg.data.val is None:
            raise ConfigError(f"{config}: data.val is not set; evaluation needs a validation dataset")
        from samdistill.data.paired import PairedImageDataset

        dataset = PairedImageDataset(cfg.data.val)
        model = load_restoration_model(checkpoint, backbone, args, map_location=str(resolve_device(device)))
        fid, lpips, skipped = perceptual_metrics(fid_weights, fid_resize, lpips_weights, lpips_net,
                                                 str(resolve_device(device)))
        if skipped:
            console.print(f"[yellow]note:[/] {skipped}", highlight=False)
        out_dir = out if out is not None else Path(cfg.output_dir) / "eval"
        downstream = None
        if segmenter is not None:
            from samdistill.cli.segment import sliding_option
            from samdistill.inference.downstream import DownstreamScorer
            from samdistill.inference.segment import load_segmenter

            downstream = DownstreamScorer(load_segmenter(segmenter, resolve_device(device)), labels,
                                          sliding_option(seg_sliding), source=str(segmenter))
        elif labels is not None:
            raise ConfigError("--labels is for downstream segmentation: give the segmenter with --segmenter PATH")
        report = evaluate_model(model, dataset, cfg.eval, save_dir=out_dir, fid=fid, lpips=lpips, downstream=downstream,
                                meta={"dataset": dataset_meta(cfg.data.val), "checkpoint": str(checkpoint)})
    stdout.print(results_table(report, report_keys(report), f"{checkpoint} on {dataset_meta(cfg.data.val)['label']}"))
    for line in fid_lines(report) + downstream_lines(report):
        stdout.print(line, highlight=False, markup=False)
    stdout.print(f"wrote {out_dir / 'metrics.json'}, metrics.md and metrics.csv")


def dataset_meta(ds) -> dict:
    """What `samdistill compare` groups reports by (data.config.dataset_label), and the fields it is made of."""
    from samdistill.data.config import dataset_label

    return {"label": dataset_label(ds), "layout": ds.layout, "root": ds.root, "name": ds.name,
            "split": ds.split}


def perceptual_metrics(fid_weights: Optional[Path], fid_resize: str, lpips_weights: Optional[str], lpips_net: str,
                       device: str):
    """(InceptionFeatures or None, LPIPS or None, one line naming what is skipped and why, or "")."""
    from samdistill.core.errors import ConfigError
    from samdistill.metrics.fid import RESIZE_MODES, InceptionFeatures
    from samdistill.metrics.lpips import NETS, LPIPS, TRUNK_FILES

    if fid_resize not in RESIZE_MODES:
        raise ConfigError(f"--fid-resize {fid_resize!r}: choose one of {', '.join(RESIZE_MODES)}")
    if lpips_net not in NETS:
        raise ConfigError(f"--lpips-net {lpips_net!r}: choose one of {', '.join(NETS)}")
    fid = InceptionFeatures.from_weights(fid_weights, device=device, resize=fid_resize) if fid_weights else None
    lpips = None
    if lpips_weights:
        parts = [p.strip() for p in lpips_weights.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"--lpips-weights {lpips_weights!r}: give two files, TRUNK,LINEAR (e.g. "
                              f"{TRUNK_FILES[lpips_net]},{lpips_net}.pth)")
        lpips = LPIPS.from_weights(lpips_net, parts[0], parts[1], device=device)
    skipped = []
    if fid is None:
        skipped.append("FID (no --fid-weights: pytorch-fid's pt_inception-2015-12-05-6726825d.pth)")
    if lpips is None:
        skipped.append(f"LPIPS (no --lpips-weights: {TRUNK_FILES[lpips_net]},{lpips_net}.pth of the lpips package)")
    line = ""
    if skipped:
        line = ("skipped " + " and ".join(skipped) + "; pretrained weights cannot be downloaded here, "
                "pass the files to measure them")
    return fid, lpips, line


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
