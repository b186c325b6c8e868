"""`samdistill export`: the shipped network to ONNX or TorchScript (restoration), or to ONNX or a
Hugging Face directory (segmentation), verified against PyTorch."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import console, fail, user_errors
from samdistill.cli.convert import ARGS_HELP, BACKBONE_HELP


def export(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-m", help="final model.safetensors of a run (or, for segmentation, a Hugging Face SegFormer folder); "
                                    "also a training checkpoint (IR1), a plain safetensors state dict or an authors' .pth, with --backbone when the file does not name its network"),
    out: Path = typer.Option(..., "--out", "-o", help="output file (.onnx or .pt), or a folder for --format hf"),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx | torchscript (restoration) | hf (segmentation: a Hugging Face directory)"),
    size: str = typer.Option("64", help="example input used for tracing and the check: side N, or HEIGHTxWIDTH for segmentation (e.g. 400x2048)"),
    opset: int = typer.Option(17, help="ONNX opset"),
    tolerance: float = typer.Option(1e-4, help="max abs difference to PyTorch accepted"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help=BACKBONE_HELP),
    args: Optional[str] = typer.Option(None, "--args", metavar="JSON", help=ARGS_HELP),
) -> None:
    """Export a trained network alone: restoration IR1, or a segmentation student (no SAM, no teacher).

    The kind is read from the checkpoint. Restoration: the bare backbone (same class and weights). Segmentation ONNX: input "image" (B, 3, H, W) RGB in [0, 1], output "logits" (B, C, H, W) at the input size, batch/height/width dynamic (checked at two sizes). --format hf writes a folder that transformers.SegformerForSemanticSegmentation.from_pretrained loads (checked).
    """

    from samdistill.inference.segment import checkpoint_task
    from samdistill.models.pretrained import is_restoration_input

    with user_errors():
        foreign = backbone is not None or args is not None or is_restoration_input(checkpoint)
        task = "restoration" if foreign else checkpoint_task(checkpoint)
    if task == "segmentation":
        _export_segmenter(checkpoint, out, fmt, size, opset, tolerance)
        return
    from samdistill.models.pretrained import load_restoration_model
    from samdistill.models.registry import pad_multiple
    from samdistill.sam4ir.export import export_onnx, export_torchscript

    if fmt not in ("onnx", "torchscript"):
        fail(f"--format must be onnx or torchscript for a {task} network, got {fmt!r}")
    if not size.isdigit():
        fail(f"--size must be one side in pixels for a {task} network, got {size!r}")
    with user_errors():
        model = load_restoration_model(checkpoint, backbone, args)
        mult = pad_multiple(model)
        if fmt == "onnx":
            diff = export_onnx(model, out, int(size), mult, opset)
        else:
            diff = export_torchscript(model, out, int(size), mult)
    console.print(f"wrote {out} ({fmt}); max |exported - pytorch| = {diff:.2e}")
    if diff > tolerance:
        fail(f"exported model differs from PyTorch by {diff:.2e} > tolerance {tolerance:.0e}")


def _export_segmenter(checkpoint: Path, out: Path, fmt: str, size: str, opset: int, tolerance: float) -> None:
    from samdistill.inference.segment import load_segmenter
    from samdistill.inference.segment_export import export_segmenter_hf, export_segmenter_onnx, parse_size

    if fmt not in ("onnx", "hf"):
        fail(f"--format must be onnx or hf for a segmentation network, got {fmt!r}")
    try:
        hw = parse_size(size)
    except ValueError as err:
        fail(str(err))
    with user_errors():
        net = load_segmenter(checkpoint)
        if fmt == "onnx":
            result = export_segmenter_onnx(net, out, hw, opset)
            checked = " and ".join(f"{h}x{w}" for h, w in result["checked"])
            console.print(f"wrote {out} (onnx, dynamic batch/height/width); max |onnxruntime - pytorch| = "
                          f"{result['max_abs_diff']:.2e} at {checked}", highlight=False)
        else:
            result = export_segmenter_hf(net, out, hw)
            console.print(f"wrote {out} (Hugging Face SegFormer); max |transformers from_pretrained - pytorch| "
                          f"logits = {result['max_abs_diff']:.2e} (input: ImageNet-normalized pixel_values; "
                          "logits at 1/4 resolution)", highlight=False)
    if result["max_abs_diff"] > tolerance:
        fail(f"exported model differs from PyTorch by {result['max_abs_diff']:.2e} > tolerance {tolerance:.0e}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
