"""`samdistill convert`: released or foreign weights -> a samdistill model artifact."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from samdistill.cli.common import console, user_errors

BACKBONE_HELP = ("registered backbone the weights are for (samdistill models list); needed when the file does not "
                 "name it (authors' .pth files, plain state dicts)")
ARGS_HELP = "the backbone's constructor arguments as a JSON object, e.g. '{\"width\": 32}'"
CHECKPOINT_HELP = ("the run's final model.safetensors; also a training checkpoint (step_N folder or its "
                   "method.safetensors: IR1), a plain safetensors state dict or an authors' .pth (see samdistill "
                   "convert --help; give --backbone when the file does not name its network)")
PARAM_KEY_HELP = ("top-level key of a .pth file holding the weights (default: the first of params_ema, params, "
                  "state_dict, ... that holds tensors)")


def convert(
    input: Path = typer.Argument(..., help="weights: an authors' .pth (NAFNet/BasicSR, Uformer, RCDNet, EfficientDerain), "
                                 "a safetensors state dict, a training checkpoint folder or its method.safetensors, "
                                 "or a samdistill model"),
    output: Path = typer.Argument(..., help="the samdistill model file to write (.safetensors)"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help=BACKBONE_HELP),
    args: Optional[str] = typer.Option(None, "--args", metavar="JSON", help=ARGS_HELP),
    param_key: Optional[str] = typer.Option(None, "--param-key", metavar="KEY", help=PARAM_KEY_HELP),
) -> None:
    """Write a samdistill model artifact (model.safetensors) from weights in any accepted format.

    PyTorch files are read with torch.load(weights_only=True) only: a file that needs code to be unpickled is refused. The authors' key names are mapped to ours and every tensor's shape is checked. The result works with restore, eval, export and train --init.
    """
    with user_errors():
        from samdistill.models.artifact import CheckpointError, load_model_artifact, save_model_artifact
        from samdistill.models.pretrained import load_pretrained

        if output.suffix != ".safetensors":
            raise CheckpointError(f"{output}: name the output *.safetensors (a samdistill model artifact)")
        if input.exists() and output.exists() and output.resolve() == input.resolve():
            raise CheckpointError(f"{output}: is the input; write the converted model to another file")
        loaded = load_pretrained(input, backbone, args, param_key)
        save_model_artifact(loaded.model, loaded.backbone, loaded.args, output,
                            extra={"converted_from": input.name, "source_format": loaded.kind,
                                   "source_layout": loaded.layout})
        load_model_artifact(output)  # what every command will do with it: fails loudly if it cannot
    n = sum(p.numel() for p in loaded.model.state_dict().values())
    notes = "".join(f"; {note}" for note in loaded.notes)
    console.print(f"wrote {output}: {loaded.backbone} {json.dumps(loaded.args, sort_keys=True)}, {n:,} values, "
                  f"from {input} ({loaded.kind}, {loaded.layout}{notes})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
