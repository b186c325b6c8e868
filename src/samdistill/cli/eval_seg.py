"""`samdistill eval-seg`: mIoU and friends of a segmentation network on a labeled dataset."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import user_errors
from samdistill.cli.segment import SLIDING_HELP, sliding_option


def results_table(report: dict, title: str):
    """Per-class IoU / accuracy / Dice in percent, then the four summary scores."""
    from rich.table import Table

    from samdistill.inference.evaluate_segmentation import percent

    table = Table("class", "IoU (%)", "acc (%)", "Dice (%)", title=title)
    for name, row in report["per_class"].items():
        table.add_row(name, percent(row["iou"]), percent(row["acc"]), percent(row["dice"]))
    table.add_section()
    table.add_row("[bold]mIoU[/]", f"[bold]{percent(report['mIoU'])}[/]", "", "")
    table.add_row("pixel accuracy", "", percent(report["pixel_acc"]), "")
    table.add_row("mean class accuracy", "", percent(report["mean_class_acc"]), "")
    table.add_row("mean Dice", "", "", percent(report["mean_dice"]))
    return table


def eval_seg(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help="the segmentation network: a GoodSAM student's model.safetensors, or a Hugging Face SegFormer folder"),
    root: str = typer.Option(..., "--root", help="dataset root folder, or embedded-pano / embedded-street (the street world, built on first use)"),
    layout: str = typer.Option("densepass", "--layout", help="densepass (leftImg8bit/val + gtFine/val), cityscapes, or folders (with --image-dir and --label-dir)"),
    split: str = typer.Option("val", "--split", help="densepass: val (the 100 labeled panoramas); cityscapes: train | val"),
    image_dir: Optional[str] = typer.Option(None, "--image-dir", help="folders layout: images, relative to --root"),
    label_dir: Optional[str] = typer.Option(None, "--label-dir", help="folders layout: labels (matched by file stem), relative to --root"),
    labels: str = typer.Option("auto", "--labels", help="label encoding: auto, trainIds (0..18, 255 ignore) or labelIds (Cityscapes ids)"),
    classes: Optional[int] = typer.Option(None, "--classes", help="protocol: 19 (Cityscapes) or 13 (CS13->DP13; a 19-class network's predictions are merged like the labels); default: the network's classes"),
    sliding: Optional[str] = typer.Option(None, "--sliding", metavar="WINDOWxSTRIDE", help=SLIDING_HELP),
    wrap: bool = typer.Option(True, "--wrap/--no-wrap", help="sliding windows cross the 360° seam (panoramas)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="score only the first N images (a quick look)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="also write the report (scores, per-class values, confusion matrix) to this JSON file"),
    batch_size: int = typer.Option(4, "--batch-size", "-b", min=1, help="windows per forward pass"),
    device: str = typer.Option("auto", "--device", help="auto (cuda, then mps, then cpu), cpu, cuda, ..."),
) -> None:
    """Segmentation scores of a trained student (or any SegFormer) on labeled images.

    One confusion matrix over the whole dataset (ignore label 255): per-class IoU, mIoU (mean over the classes present, as the Cityscapes script and mmseg), pixel accuracy, mean class accuracy and mean Dice. Whole-image inference by default (the Trans4PASS protocol); --sliding for sliding windows. Restoration networks are scored with `samdistill eval`.

    Example: samdistill eval-seg -m run/model.safetensors --root data/DensePASS --classes 13 --out dp13.json
    """
    from samdistill.cli.metrics import stdout
    from samdistill.core.errors import ConfigError
    from samdistill.data.segmentation.config import SegDatasetConfig
    from samdistill.data.segmentation.dataset import SegmentationDataset
    from samdistill.inference.evaluate_segmentation import evaluate_segmenter, write_report_json
    from samdistill.inference.restore import resolve_device
    from samdistill.inference.segment import load_segmenter, num_classes_of

    window = sliding_option(sliding)
    if classes is not None and classes not in (19, 13):
        raise typer.BadParameter(f"--classes must be 19 or 13, got {classes}", param_hint="--classes")
    with user_errors():
        net = load_segmenter(checkpoint, resolve_device(device))
        protocol = classes if classes is not None else num_classes_of(net)
        if protocol not in (19, 13):
            raise ConfigError(f"{checkpoint}: the network predicts {protocol} classes; eval-seg scores the 19 "
                              "Cityscapes classes or the 13-class protocol")
        fields = dict(layout=layout, root=root, split=split, image_dir=image_dir, label_dir=label_dir,
                      labels=labels, classes=protocol, limit=limit)
        try:
            cfg = SegDatasetConfig(**{k: v for k, v in fields.items() if v is not None})
        except ValueError as err:  # pydantic's ValidationError
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'dataset'}: {e['msg']}" for e in err.errors()) \
                if hasattr(err, "errors") else str(err)
            raise ConfigError(f"bad dataset options: {problems}") from None
        dataset = SegmentationDataset(cfg)
        report = evaluate_segmenter(net, dataset, protocol, window, wrap, batch_size)
        report = {"checkpoint": str(checkpoint),
                  "dataset": {"layout": cfg.layout, "root": cfg.root, "split": cfg.split}, **report}
        if out is not None:
            write_report_json(report, out)
    mode = report["inference"] if isinstance(report["inference"], str) else f"sliding {window[0]}x{window[1]}"
    stdout.print(results_table(report, f"{checkpoint} on {layout}:{root} ({report['protocol']}, {mode}, "
                                       f"{report['images']} image(s))"))
    if out is not None:
        stdout.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("eval-seg")(eval_seg)
