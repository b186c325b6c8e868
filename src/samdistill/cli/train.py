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
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="experiment YAML file (see configs/); "
                                          "not needed with --resume RUN_DIR (the run folder holds its config.yaml)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint in the output folder "
                                "(same data order, RNG and optimizer state as an uninterrupted run): "
                                "`samdistill train --resume RUN_DIR`, or with -c and the config's output_dir"),
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
    """Train a model; writes output_dir/model.safetensors (the shipped network only).

    samdistill train -c configs/quickstart/baseline.yaml data.train.root=MY/train data.val.root=MY/test

    samdistill train --resume runs/quickstart/baseline
    """
    with user_errors():
        from accelerate import PartialState

        from samdistill.build import train_experiment
        from samdistill.cli.logs import configure_logging
        from samdistill.config.loader import load_config

        configure_logging(PartialState().is_main_process)
        extra = list(overrides or [])
        config, run_dir = resolve_config_path(config, resume, extra, output_dir)
        if run_dir is not None:
            extra.append(f"output_dir={run_dir}")
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
        try:
            result = train_experiment(cfg, resume=resume, epochs=epochs)
        except KeyboardInterrupt:  # the trainer has saved and named the last complete step
            raise typer.Exit(130) from None
        state = PartialState()
        state.destroy_process_group()
        if state.is_main_process:
            from samdistill.engine.trainer import score_line

            console.print(f"done: {score_line(result, skip=())}\nmodel: {Path(cfg.output_dir) / 'model.safetensors'}",
                          highlight=False)


def resolve_config_path(config: Optional[Path], resume: bool, extra: list[str],
                        output_dir: Optional[str]) -> tuple[Path, Optional[str]]:
    """(config file, run folder to train in or None). `--resume RUN_DIR`: RUN_DIR arrives as the first
    positional (overrides are key=value) and its config.yaml, the resolved config the run saved, is
    the config unless -c names one; -o names the folder otherwise. Removes RUN_DIR from `extra`."""
    from samdistill.config.loader import ConfigError

    run_dir = output_dir
    if resume and extra and "=" not in extra[0]:
        run_dir = extra.pop(0)
    stray = [item for item in extra if "=" not in item]
    if stray:
        raise ConfigError(f"unexpected argument(s) {' '.join(stray)}: overrides are key=value (e.g. train.steps=500); "
                          "a run folder goes after --resume")
    if config is not None:
        return config, run_dir
    if not resume or run_dir is None:
        raise ConfigError("train needs --config/-c FILE (an experiment YAML, see configs/), or "
                          "--resume RUN_DIR to continue a run from the config.yaml in its folder")
    saved = Path(run_dir) / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"--resume {run_dir}: {saved} not found (not a run folder?); pass the experiment's "
                          "config with -c, or the folder a run wrote")
    return saved, run_dir


def register(app: typer.Typer) -> None:
    app.command("train")(train)
