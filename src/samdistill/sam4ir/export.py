"""Export the shipped network (IR1 only) to ONNX and TorchScript, checked against PyTorch.

The exported graph is the bare backbone: SAM, IR2, SPF and VGG exist only at training time.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


def _example(size: int, multiple: int) -> torch.Tensor:
    side = max(size, multiple)
    side -= side % multiple
    return torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))


def export_torchscript(model: nn.Module, path: str | Path, size: int = 64, multiple: int = 1) -> float:
    """Trace to TorchScript; returns the max abs difference to eager on a check input."""
    model = model.eval()
    x = _example(size, multiple)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        traced.save(str(path))
        loaded = torch.jit.load(str(path))
        return float((loaded(x) - model(x)).abs().max())


def export_onnx(model: nn.Module, path: str | Path, size: int = 64, multiple: int = 1,
                opset: int = 17, dynamic: bool = True) -> float:
    """Export to ONNX and compare onnxruntime with PyTorch; returns the max abs difference."""
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - optional extra
        raise RuntimeError("ONNX export check needs onnxruntime: pip install 'samdistill[export]'") from err
    model = model.eval()
    x = _example(size, multiple)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {"image": {0: "batch", 2: "height", 3: "width"}, "restored": {0: "batch", 2: "height", 3: "width"}}
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["restored"],
                          opset_version=opset, dynamic_axes=axes if dynamic else None, dynamo=False)
        ref = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": x.numpy()})[0]
    return float(np.abs(out - ref).max())
