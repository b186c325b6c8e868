"""Restore one image or every image of a folder with a shipped model artifact.

Inputs are never overwritten: every planned output path is checked against the inputs before
anything runs. Output files keep the input's name with `suffix` added and the extension .png
(8-bit, lossless). An unreadable image is reported by path and skipped; the others are still
restored, and `RestoreError` lists every failure at the end.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from samdistill.core.errors import DataError, ImageReadError
from samdistill.data.io import IMAGE_EXTENSIONS, read_image, write_image
from samdistill.inference.tiling import restore_tensor


class RestoreError(DataError):
    """Some inputs could not be restored (or the request is unsafe); names every path."""


@dataclass
class RestoreSummary:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; anything else is passed to torch."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder` (not recursive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def plan_outputs(input_path: Path, output: Path, suffix: str = "") -> list[tuple[Path, Path]]:
    """(input file, output file) pairs; refuses anything that would overwrite an input."""
    if not input_path.exists():
        raise FileNotFoundError(f"{input_path}: input not found")
    if input_path.is_dir():
        if output.resolve() == input_path.resolve():
            raise RestoreError(f"{output}: output folder is the input folder; choose another folder "
                               "(inputs are never overwritten)")
        inputs = list_images(input_path)
        if not inputs:
            raise RestoreError(f"{input_path}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder")
        plan = [(p, output / f"{p.stem}{suffix}.png") for p in inputs]
    elif output.suffix and not output.is_dir():
        if output.suffix.lower() != ".png":
            raise RestoreError(f"{output}: restored images are saved as PNG; name the output *.png or give a folder")
        plan = [(input_path, output)]
    else:
        plan = [(input_path, output / f"{input_path.stem}{suffix}.png")]
    _check_plan(plan)
    return plan


def _check_plan(plan: list[tuple[Path, Path]]) -> None:
    inputs = {src.resolve() for src, _ in plan}
    clobbered = [str(dst) for _, dst in plan if dst.resolve() in inputs]
    if clobbered:
        raise RestoreError("refusing to overwrite input file(s): " + ", ".join(clobbered)
                           + "; choose another output folder or a --suffix")
    by_output: dict[Path, list[str]] = {}
    for src, dst in plan:
        by_output.setdefault(dst.resolve(), []).append(str(src))
    clashes = [f"{' and '.join(srcs)} -> {dst}" for dst, srcs in by_output.items() if len(srcs) > 1]
    if clashes:
        raise RestoreError("several inputs would be written to the same file: " + "; ".join(clashes))


def restore_image(model: nn.Module, image: np.ndarray, device: torch.device, tile: int = 0,
                  overlap: int = 32) -> np.ndarray:
    """(H, W, 3) float32 [0, 1] -> restored (H, W, 3) float32 clamped to [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device)
    y = restore_tensor(model, x, tile=tile, overlap=overlap, autocast=False)
    return y[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def restore_files(model: nn.Module, plan: list[tuple[Path, Path]], device: torch.device,
                  tile: int = 0, overlap: int = 32, progress: bool = True) -> RestoreSummary:
    """Restore each planned file; unreadable ones are recorded, not fatal."""
    summary = RestoreSummary()
    for src, dst in tqdm(plan, desc="restore", unit="img", disable=not progress or len(plan) < 2):
        try:
            image = read_image(src)
        except ImageReadError as err:
            summary.failed.append((src, err.reason))
            tqdm.write(f"skipped {src}: {err.reason}", file=sys.stderr)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        write_image(dst, restore_image(model, image, device, tile, overlap))
        summary.written.append(dst)
    return summary


def restore_path(input: str | Path, output: str | Path, checkpoint: str | Path, device: str = "auto",
                 tile: int = 0, overlap: int = 32, suffix: str = "", progress: bool = True,
                 backbone: str | None = None, backbone_args: dict | str | None = None) -> RestoreSummary:
    """Restore an image file or a folder's images (top level only) into `output`.

    `output` is a folder (created if needed), or a *.png file when `input` is one file.
    Raises RestoreError after the run if any input could not be read, listing all of them.
    `checkpoint` is a samdistill model artifact or any input `models.pretrained` accepts (a training
    checkpoint, a plain state dict, an authors' .pth); `backbone`/`backbone_args` name the network
    when the file does not.
    """
    from samdistill.models.pretrained import load_restoration_model

    plan = plan_outputs(Path(input), Path(output), suffix)
    dev = resolve_device(device)
    model = load_restoration_model(checkpoint, backbone, backbone_args, map_location=str(dev))
    summary = restore_files(model, plan, dev, tile, overlap, progress)
    if summary.failed:
        listed = "\n  ".join(f"{path}: {reason}" for path, reason in summary.failed)
        raise RestoreError(f"{len(summary.failed)} of {len(plan)} image(s) could not be restored "
                           f"({len(summary.written)} written to {output}):\n  {listed}")
    return summary
