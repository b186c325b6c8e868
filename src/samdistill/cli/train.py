"""`samdistill train`: train a restoration network (baseline or SAM4IR) from a YAML config.

Runs on accelerate: `accelerate launch -m samdistill.cli.main train --config X.yaml` trains on
every configured GPU/process with the same command.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import OVERRIDES_HELP, console, user_errors


def train(
    config: Path = typer.Option(..., "--config", "-c", help="experiment YAML file (see configs/)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint in the output folder "
                                "(same data order, RNG and optimizer state as an uninterrupted run)"),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "-o",
                                             help="where checkpoints, logs and model.safetensors go "
                                             "(overrides output_dir of the config)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1,
                                         help="train for N passes over the training set instead of "
                                         "train.steps (the SAM4IR paper trains 200 epochs)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start over in an output folder that holds an "
                                   "earlier run (its model, config, histories and checkpoints are removed first)"),
    force: bool = typer.Option(False, "--force", help="with --resume: continue even though the config differs "
                               "from the checkpointed run's in more than the training length"),
    init: Optional[Path] = typer.Option(None, "--init", metavar="PATH",
                                        help="fine-tune from these weights (sets model.init): a samdistill model, "
                                        "a training checkpoint (IR1), a safetensors state dict, or the authors' "
                                        ".pth of NAFNet/BasicSR, Uformer, RCDNet or EfficientDerain for model.name"),
    overrides: Optional[list[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
) -> None:
    """Train a model; writes output_dir/model.safetensors (the shipped network only)."""
    with user_errors():
        from accelerate import PartialState

        from samdistill.build import build_experiment, steps_for_epochs
        from samdistill.config.loader import load_config
        from samdistill.engine.trainer import Trainer

        from samdistill.cli.logs import configure_logging

        configure_logging(PartialState().is_main_process)
        extra = list(overrides or [])
        if output_dir is not None:
            extra.append(f"output_dir={output_dir}")
        cfg = load_config(config, extra)
        if init is not None:
            cfg.model.init = str(init)
        from samdistill.preflight import check_config

        check_config(cfg)  # every name, path and combination, all problems at once, before anything runs
        from samdistill.engine.run_folder import check_resume, prepare_output_dir

        if PartialState().is_main_process:
            prepare_output_dir(cfg.output_dir, resume, overwrite)
        if resume:
            for line in check_resume(cfg.output_dir, cfg, force):
                console.print(f"[yellow]resuming with a changed setting:[/] {line}", highlight=False)
        method, train_loader, val_loader = build_experiment(cfg)
        if epochs is not None:
            cfg.train.steps = steps_for_epochs(train_loader, epochs, PartialState().num_processes)
        try:
            result = Trainer(cfg, method, train_loader, val_loader).fit(resume=resume)
        except KeyboardInterrupt:  # the trainer has saved and named the last complete step
            raise typer.Exit(130) from None
        state = PartialState()
        state.destroy_process_group()
        if state.is_main_process:
            summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
                                if isinstance(v, (int, float, str)))  # per-class lists stay in val_history.json
            console.print(f"done: {summary}\nmodel: {Path(cfg.output_dir) / 'model.safetensors'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
