"""`samdistill export`: the shipped network to ONNX or TorchScript, verified against PyTorch."""
from __future__ import annotations

from pathlib import Path

import typer

from samdistill.cli.common import console, fail, user_errors


def export(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="final model.safetensors of a run"),
    out: Path = typer.Option(..., "--out", "-o", help="output file (.onnx or .pt)"),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx | torchscript"),
    size: int = typer.Option(64, help="side of the example input used for tracing and the check"),
    opset: int = typer.Option(17, help="ONNX opset"),
    tolerance: float = typer.Option(1e-4, help="max abs difference to PyTorch accepted"),
) -> None:
    """Export a trained network (IR1 only: same class and weights as the bare backbone)."""
    from samdistill.engine.artifact import load_model_artifact
    from samdistill.models.registry import pad_multiple
    from samdistill.sam4ir.export import export_onnx, export_torchscript

    with user_errors():
        model = load_model_artifact(checkpoint)
        mult = pad_multiple(model)
        if fmt == "onnx":
            diff = export_onnx(model, out, size, mult, opset)
        elif fmt == "torchscript":
            diff = export_torchscript(model, out, size, mult)
        else:
            fail(f"--format must be onnx or torchscript, got {fmt!r}")
    console.print(f"wrote {out} ({fmt}); max |exported - pytorch| = {diff:.2e}")
    if diff > tolerance:
        fail(f"exported model differs from PyTorch by {diff:.2e} > tolerance {tolerance:.0e}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
