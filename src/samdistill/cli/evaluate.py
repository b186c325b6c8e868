"""`samdistill eval`: score a trained network on a config's validation dataset."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from samdistill.cli.common import OVERRIDES_HELP, console, user_errors


def evaluate(
    config: Path = typer.Option(..., "--config", "-c", help="experiment YAML; its data.val dataset and eval section are used"),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help="the run's final model.safetensors"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for metrics.json and metrics.md (default: <output_dir>/eval)"),
    device: str = typer.Option("auto", "--device", help="auto (cuda, then mps, then cpu), cpu, cuda, ..."),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP + "; e.g. eval.y_channel=true eval.tile=256"),
) -> None:
    """PSNR/SSIM of the restored images and of the degraded inputs (the baseline to beat).

    Scores the config's data.val dataset with its eval section: eval.y_channel, eval.crop_border, eval.tile, eval.tile_overlap, and eval.save_images (write the restored images next to the metrics).
    Segmentation networks (GoodSAM students) are scored with `samdistill eval-seg` (mIoU, 19 or 13 classes).
    """
    from samdistill.cli.metrics import results_table, stdout
    from samdistill.config.loader import ConfigError, load_config
    from samdistill.engine.artifact import load_model_artifact
    from samdistill.inference.evaluate import MODEL_KEYS, evaluate_model
    from samdistill.inference.restore import resolve_device
    from samdistill.inference.segment import checkpoint_task

    with user_errors():
        if checkpoint.is_file() and checkpoint_task(checkpoint) == "segmentation":
            raise ConfigError(f"{checkpoint} is a segmentation network; score it with `samdistill eval-seg "
                              f"--checkpoint {checkpoint} --root DATASET` (see samdistill eval-seg --help)")
        cfg = load_config(config, overrides or [])
        if cfg.data.val is None:
            raise ConfigError(f"{config}: data.val is not set; evaluation needs a validation dataset")
        from samdistill.data.paired import PairedImageDataset

        dataset = PairedImageDataset(cfg.data.val)
        model = load_model_artifact(checkpoint, map_location=str(resolve_device(device)))
        out_dir = out if out is not None else Path(cfg.output_dir) / "eval"
        report = evaluate_model(model, dataset, cfg.eval, save_dir=out_dir)
    stdout.print(results_table(report, MODEL_KEYS, f"{checkpoint} on {cfg.data.val.layout}:{cfg.data.val.root or cfg.data.val.name}"))
    stdout.print(f"wrote {out_dir / 'metrics.json'} and {out_dir / 'metrics.md'}")


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
