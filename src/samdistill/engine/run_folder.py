"""A run's output folder: never train over another run's files by accident, never resume a
checkpoint with another configuration by accident.

Run files are what the trainer writes (`RUN_FILES`); anything else a user keeps in the folder is
never touched. A resume compares the folder's `config.yaml` (the run that wrote the checkpoints)
with the new configuration; only the training length and logging cadence may differ.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from samdistill.core.errors import ConfigError

RUN_FILES = ("model.safetensors", "ta.safetensors", "config.yaml", "setup.txt", "train_history.json",
             "val_history.json", "checkpoints", "priors")
# may change between an interrupted run and its resumption (the same list the trainer's config hash ignores)
RESUMABLE = {"name", "output_dir", "eval", "train.steps", "train.val_every", "train.save_every", "train.log_every",
             "train.progress", "train.tensorboard"}


def existing_run_files(output_dir: str | Path) -> list[Path]:
    folder = Path(output_dir)
    return [folder / name for name in RUN_FILES if (folder / name).exists()]


def prepare_output_dir(output_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a new run over an earlier run's files (naming both ways out), or remove
    them first with `overwrite`. A resume keeps them."""
    found = existing_run_files(output_dir)
    if resume or not found:
        return
    if not overwrite:
        names = ", ".join(p.name for p in found)
        raise ConfigError(f"{output_dir} already holds a run ({names}): continue it with --resume, or start over "
                          "with --overwrite (removes those files), or choose another --output-dir")
    for path in found:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ (outside RESUMABLE), as 'key: old -> new'."""
    out = []
    for key in sorted(set(old) | set(new)):
        dotted = f"{prefix}{key}"
        if dotted in RESUMABLE:
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, dotted + ".")
        elif a != b:
            out.append(f"{dotted}: {a!r} -> {b!r}")
    return out


def check_resume(output_dir: str | Path, cfg: Any, force: bool) -> list[str]:
    """Differences between the checkpointed run's config and `cfg`; an error unless `force`."""
    from samdistill.config.loader import load_config

    saved = Path(output_dir) / "config.yaml"
    if not saved.is_file():
        return []
    old = load_config(saved).model_dump(mode="json")
    diffs = config_differences(old, cfg.model_dump(mode="json"))
    if diffs and not force:
        shown = "\n  ".join(diffs[:20]) + (f"\n  ... and {len(diffs) - 20} more" if len(diffs) > 20 else "")
        raise ConfigError(f"--resume: {saved} was trained with another configuration (only the training length "
                          f"may change):\n  {shown}\nresume with the same config, or pass --force to resume anyway "
                          "(the result will not equal an uninterrupted run)")
    return diffs
