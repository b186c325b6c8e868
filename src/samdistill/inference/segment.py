"""Segment a panorama (or any image) with a trained segmentation network: a GoodSAM student.

The network is a samdistill artifact of a registered segmentation backbone (`segformer`), or a
Hugging Face SegFormer folder (`save_pretrained`); either way it maps images in [0, 1] to class
logits at the input size (ImageNet normalization inside).

Two inference modes over an equirectangular panorama:
- whole image (the Trans4PASS protocol): one forward pass of the full panorama;
- sliding window: full-height windows of `window` columns every `stride` columns, continuing across
  the 360° seam into column 0 (`wrap`, `data.pano_windows`); the windows' logits are averaged where
  windows overlap, then the class is the argmax.

`segment_paths` writes, for every input image, `<stem>_labelTrainIds.png` (uint8 class ids: the 19
Cityscapes train ids, or the 13 CS13 ids for a 13-class network) and `<stem>_color.png` (the
Cityscapes palette blended over the image, or the pure colors). Inputs are never overwritten; an
unreadable image is reported and skipped, and `SegmentError` lists every failure at the end.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from samdistill.core.errors import DataError, ImageReadError
from samdistill.data.segmentation import labels as cs
from samdistill.core.errors import CheckpointError
from samdistill.models.artifact import checkpoint_task  # re-exported: the CLI imports it from here

Sliding = Optional[tuple[int, int]]  # (window, stride) in pixels, or None for whole-image inference


class SegmentError(DataError):
    """Some inputs could not be segmented (or the request is unsafe); names every path."""


@dataclass
class SegmentSummary:
    labels: list[Path] = field(default_factory=list)
    colors: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


# ---------------------------------------------------------------- loading

def load_segmenter(path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> nn.Module:
    """A segmentation network from a samdistill artifact or a Hugging Face SegFormer folder (eval mode).

    Raises CheckpointError for a missing/corrupt file, a folder that is not a SegFormer, or an
    artifact of another task (e.g. a restoration network).
    """
    from samdistill.models.artifact import load_model_artifact

    path = Path(path)
    task = checkpoint_task(path)
    if path.is_dir():
        from samdistill.models.segformer import SegmentationNet

        net = SegmentationNet.from_pretrained(path)
    elif task != "segmentation":
        raise CheckpointError(f"{path}: holds a {task} network, not a segmenter; segmentation needs a GoodSAM "
                              "student's model.safetensors or a SegFormer folder"
                              + (" (restore images with `samdistill restore`)" if task == "restoration" else ""))
    else:
        net = load_model_artifact(path)
    return net.to(device).eval()


def num_classes_of(net: nn.Module) -> int:
    """Classes a segmentation network predicts (its `num_classes`, else found by a tiny forward pass)."""
    n = getattr(net, "num_classes", None)
    if n is not None:
        return int(n)
    param = next(net.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with torch.inference_mode():
        return int(net(torch.zeros(1, 3, 32, 32, device=device)).shape[1])


def parse_sliding(text: Optional[str]) -> Sliding:
    """"512x384" -> (512, 384) (window width x stride, pixels); None or "" -> None (whole image)."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX:,]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"sliding window {text!r}: expected WINDOWxSTRIDE in pixels, e.g. 512x384")
    window, stride = int(match.group(1)), int(match.group(2))
    if window < 1 or not 1 <= stride <= window:
        raise ValueError(f"sliding window {text!r}: need window >= 1 and 1 <= stride <= window "
                         "(windows must touch or overlap)")
    return window, stride


# ---------------------------------------------------------------- inference

def _device_of(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    if param is None:
        param = next(net.buffers(), None)
    return param.device if param is not None else torch.device("cpu")


def _batched(net: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = _device_of(net)
    outs = [net(x[i:i + batch_size].to(device)) for i in range(0, x.shape[0], max(1, batch_size))]
    return torch.cat(outs, 0)


def segment_logits(net: nn.Module, images: torch.Tensor, sliding: Sliding = None, wrap: bool = True,
                   batch_size: int = 4) -> torch.Tensor:
    """Images `(B, 3, H, W)` in [0, 1] -> class logits `(B, C, H, W)` (float32, on the network's device).

    `sliding=(window, stride)`: full-height windows starting at columns 0, stride, 2*stride, ...;
    with `wrap` they continue across the right edge into column 0 (the 360° seam), without it the
    last window is aligned to the right edge. The windows' logits are averaged where they overlap.
    Forward passes take at most `batch_size` images (or windows) at a time.
    """
    from samdistill.data.pano_windows import extract_windows, stitch, window_starts

    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(images.shape)}")
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            if sliding is None:
                return _batched(net, images, batch_size).float()
            window, stride = sliding
            width = images.shape[-1]
            starts = window_starts(width, window, stride, wrap)
            windows = extract_windows(images, starts, window)  # (B*K, 3, H, window), batch-major
            logits = _batched(net, windows, batch_size).float()
            return stitch(logits, starts, window, width)
    finally:
        net.train(was_training)


def segment_image(net: nn.Module, image: Union[np.ndarray, torch.Tensor], sliding: Sliding = None,
                  wrap: bool = True, batch_size: int = 4, return_logits: bool = False) -> np.ndarray:
    """One image `(H, W, 3)` float [0, 1] (numpy, or a `(3, H, W)` tensor) -> `(H, W)` uint8 class ids,
    or with `return_logits` the `(C, H, W)` float32 logits. See `segment_logits` for `sliding`."""
    if isinstance(image, torch.Tensor):
        x = image.float()
        if x.ndim != 3:
            raise ValueError(f"expected one image (3, H, W), got shape {tuple(x.shape)}")
    else:
        arr = np.asarray(image, np.float32)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected one image (H, W, 3), got shape {arr.shape}")
        x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    logits = segment_logits(net, x[None], sliding, wrap, batch_size)[0]
    if return_logits:
        return logits.cpu().numpy()
    return logits.argmax(0).to(torch.uint8).cpu().numpy()


# ---------------------------------------------------------------- colors

def class_palette(num_classes: int) -> np.ndarray:
    """`(256, 3)` uint8: class id -> color. 19 classes: the Cityscapes palette; 13 (CS13): the same
    colors with person and car for the merged classes; ids without a color (and 255) are black."""
    if num_classes == len(cs.CS13_NAMES):
        lut = np.zeros((256, 3), np.uint8)
        for new_id, name in enumerate(cs.CS13_NAMES):
            lut[new_id] = cs.TRAIN_CLASSES[cs.TRAIN_ID[name]][2]
        return lut
    return cs.palette(min(num_classes, cs.NUM_CLASSES))


def color_labels(labels: np.ndarray, num_classes: int = cs.NUM_CLASSES) -> np.ndarray:
    """`(H, W)` class ids -> `(H, W, 3)` uint8 colors."""
    return class_palette(num_classes)[np.asarray(labels, np.uint8)]


def overlay(image: np.ndarray, labels: np.ndarray, num_classes: int = cs.NUM_CLASSES,
            alpha: float = 0.5) -> np.ndarray:
    """The class colors blended over the image: `(1 - alpha) * image + alpha * color`, uint8 `(H, W, 3)`."""
    colors = color_labels(labels, num_classes).astype(np.float32) / 255.0
    mixed = (1.0 - alpha) * np.asarray(image, np.float32) + alpha * colors
    return np.round(np.clip(mixed, 0.0, 1.0) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------- files

LABEL_SUFFIX = "_labelTrainIds.png"
COLOR_SUFFIX = "_color.png"


def plan_segment_outputs(input_path: Path, output: Path) -> list[tuple[Path, Path, Path]]:
    """(input, label file, color file) for an image or a folder's images (top level); `output` is a folder.

    Refuses the input folder as output folder, an output that would overwrite an input, and two
    inputs that would write the same files (e.g. a.png and a.jpg).
    """
    from samdistill.data.io import IMAGE_EXTENSIONS
    from samdistill.inference.restore import list_images

    if not input_path.exists():
        raise FileNotFoundError(f"{input_path}: input not found")
    if output.exists() and not output.is_dir():
        raise SegmentError(f"{output}: exists and is not a folder; the output is a folder "
                           f"(<name>{LABEL_SUFFIX} and <name>{COLOR_SUFFIX} are written there)")
    if input_path.is_dir():
        if output.resolve() == input_path.resolve():
            raise SegmentError(f"{output}: output folder is the input folder; choose another folder "
                               "(its outputs would be segmented on the next run)")
        inputs = list_images(input_path)
        if not inputs:
            raise SegmentError(f"{input_path}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder")
    else:
        inputs = [input_path]
    plan = [(p, output / f"{p.stem}{LABEL_SUFFIX}", output / f"{p.stem}{COLOR_SUFFIX}") for p in inputs]
    sources = {src.resolve() for src, _, _ in plan}
    clobbered = [str(dst) for _, *dsts in plan for dst in dsts if dst.resolve() in sources]
    if clobbered:
        raise SegmentError("refusing to overwrite input file(s): " + ", ".join(clobbered)
                           + "; choose another output folder")
    by_output: dict[Path, list[str]] = {}
    for src, label, _ in plan:
        by_output.setdefault(label.resolve(), []).append(str(src))
    clashes = [f"{' and '.join(srcs)} -> {dst}" for dst, srcs in by_output.items() if len(srcs) > 1]
    if clashes:
        raise SegmentError("several inputs would be written to the same files: " + "; ".join(clashes))
    return plan


def segment_paths(input: Union[str, Path], output: Union[str, Path], checkpoint: Union[str, Path, nn.Module],
                  sliding: Sliding = None, wrap: bool = True, overlay_image: bool = True, alpha: float = 0.5,
                  device: str = "auto", batch_size: int = 4, progress: bool = True) -> SegmentSummary:
    """Segment an image file or a folder's images (top level) into the folder `output`.

    `checkpoint`: a samdistill artifact, a SegFormer folder, or an already loaded network. Writes
    `<stem>_labelTrainIds.png` and `<stem>_color.png` (palette over the image with `overlay_image`,
    pure palette colors without). Raises SegmentError after the run if any input could not be read
    (or is narrower than one window), listing all of them.
    """
    from samdistill.data.io import read_image, write_image
    from samdistill.inference.restore import resolve_device

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    plan = plan_segment_outputs(Path(input), Path(output))
    if isinstance(checkpoint, nn.Module):
        net = checkpoint.eval()
    else:
        net = load_segmenter(checkpoint, resolve_device(device))
    n_classes = num_classes_of(net)
    summary = SegmentSummary()
    for src, label_path, color_path in tqdm(plan, desc="segment", unit="img",
                                            disable=not progress or len(plan) < 2):
        image = None
        try:
            image = read_image(src)
            labels = segment_image(net, image, sliding, wrap, batch_size)
        except (ImageReadError, ValueError, RuntimeError) as err:  # ValueError: narrower than one window
            if isinstance(err, torch.OutOfMemoryError):
                raise  # the machine's limit, not this image's fault: smaller --batch-size or --sliding
            reason = _failure_reason(err, image)
            summary.failed.append((src, reason))
            if len(plan) > 1:
                tqdm.write(f"skipped {src}: {reason}", file=sys.stderr)
            continue
        write_image(label_path, labels)
        write_image(color_path, overlay(image, labels, n_classes, alpha) if overlay_image
                    else color_labels(labels, n_classes))
        summary.labels.append(label_path)
        summary.colors.append(color_path)
    if summary.failed:
        if len(plan) == 1:
            src, reason = summary.failed[0]
            raise SegmentError(f"{src}: cannot segment: {reason}")
        listed = "\n  ".join(f"{path}: {reason}" for path, reason in summary.failed)
        raise SegmentError(f"{len(summary.failed)} of {len(plan)} image(s) could not be segmented "
                           f"({len(summary.labels)} written to {output}):\n  {listed}")
    return summary


def _failure_reason(err: Exception, image: Optional[np.ndarray]) -> str:
    """One line for an image that could not be segmented. A RuntimeError from the network is, for a
    readable image, almost always a size the architecture cannot take (a 1x1 image meets an 8x8
    kernel), so the line leads with the image's size."""
    if isinstance(err, ImageReadError):
        return err.reason
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, RuntimeError) and image is not None:
        height, width = image.shape[:2]
        return f"{width}x{height} image: too small for this network? ({first})"
    return first


def describe_sliding(sliding: Sliding, wrap: bool = True) -> Union[str, dict]:
    """JSON-ready description of the inference mode."""
    if sliding is None:
        return "whole image"
    return {"window": sliding[0], "stride": sliding[1], "wrap": wrap}


__all__: Sequence[str] = (
    "SegmentError", "SegmentSummary", "checkpoint_task", "load_segmenter", "num_classes_of", "parse_sliding",
    "segment_logits", "segment_image", "class_palette", "color_labels", "overlay", "plan_segment_outputs",
    "segment_paths", "describe_sliding",
)
