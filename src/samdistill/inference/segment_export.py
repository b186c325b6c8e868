"""Export a segmentation network (a GoodSAM student) to ONNX and to a Hugging Face directory.

ONNX: the whole `SegmentationNet` — input `image` `(B, 3, H, W)` in [0, 1], RGB; output `logits`
`(B, C, H, W)` at the input size (normalization and upsampling inside the graph). Batch, height and
width are dynamic; the check runs onnxruntime at the traced size and at a second size.

Hugging Face: `SegmentationNet.save_pretrained` writes a plain transformers directory; the check
loads it with `transformers.SegformerForSemanticSegmentation.from_pretrained` and compares logits.
That model takes ImageNet-normalized `pixel_values` and returns logits at 1/4 resolution (the
transformers convention): normalize with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)
and upsample bilinearly (align_corners=False) to reproduce the samdistill network.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn as nn

from samdistill.core.errors import CheckpointError


def _example(height: int, width: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def parse_size(text: Union[str, int]) -> tuple[int, int]:
    """"64" -> (64, 64); "400x2048" -> (400, 2048) (height x width)."""
    parts = str(text).lower().replace(" ", "").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"size {text!r}: expected N or HEIGHTxWIDTH in pixels, e.g. 64 or 400x2048") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"size {text!r}: expected N or HEIGHTxWIDTH in pixels, e.g. 64 or 400x2048")
    return values[0], values[1]


def export_segmenter_onnx(net: nn.Module, path: Union[str, Path], size: tuple[int, int] = (64, 64),
                          opset: int = 17, dynamic: bool = True) -> dict:
    """Export `net` to ONNX and compare onnxruntime with PyTorch.

    Returns {"max_abs_diff": float, "checked": [[H, W], ...]}: the largest difference over the traced
    size and (when `dynamic`) a second size of another height, width and batch.
    """
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - optional extra
        raise RuntimeError("ONNX export check needs onnxruntime: pip install 'samdistill[export]'") from err
    net = net.eval()
    h, w = size
    x = _example(h, w)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python ints from shapes: checked below
        torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["logits"],
                          opset_version=opset, dynamic_axes=axes if dynamic else None, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    checks = [x] + ([_example(h + 12, w + 20, batch=2, seed=1)] if dynamic else [])
    diff = 0.0
    for inp in checks:
        with torch.no_grad():
            ref = net(inp).numpy()
        out = session.run(None, {"image": inp.numpy()})[0]
        if out.shape != ref.shape:
            raise RuntimeError(f"ONNX output {out.shape} differs from PyTorch {ref.shape}")
        diff = max(diff, float(np.abs(out - ref).max()))
    return {"max_abs_diff": diff, "checked": [list(inp.shape[-2:]) for inp in checks]}


def export_segmenter_hf(net: nn.Module, out_dir: Union[str, Path], size: tuple[int, int] = (64, 64)) -> dict:
    """Write `net` as a Hugging Face SegFormer directory and check plain transformers loads it.

    Returns {"max_abs_diff": float, "path": str}: the difference between the logits of the loaded
    `SegformerForSemanticSegmentation` and of `net`'s own SegFormer on the same normalized input.
    """
    from transformers import SegformerForSemanticSegmentation

    from samdistill.models.segformer import SegmentationNet

    if not isinstance(net, SegmentationNet):
        raise CheckpointError(f"only SegFormer networks export to a Hugging Face directory, not {type(net).__name__}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CheckpointError(f"{out_dir}: exists and is not a folder; a Hugging Face export is a folder")
    net = net.eval()
    net.save_pretrained(out_dir)
    loaded = SegformerForSemanticSegmentation.from_pretrained(str(out_dir), local_files_only=True).eval()
    x = net.normalize(_example(*size).to(next(net.parameters()).device))
    with torch.no_grad():
        ref = net.segformer(pixel_values=x).logits
        out = loaded.to(x.device)(pixel_values=x).logits
    if out.shape != ref.shape:
        raise RuntimeError(f"reloaded logits {tuple(out.shape)} differ from {tuple(ref.shape)}")
    return {"max_abs_diff": float((out - ref).abs().max()), "path": str(out_dir)}
