"""The shipped network exports to ONNX and TorchScript with outputs equal to PyTorch's."""
import numpy as np
import onnxruntime as ort
import torch
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.models.artifact import save_model_artifact
from samdistill.models.registry import create_backbone
from samdistill.sam4ir.export import export_onnx, export_torchscript


def _trained_like_net():
    torch.manual_seed(0)
    net = create_backbone("nafnet_tiny")
    with torch.no_grad():  # NAFNet's beta/gamma start at 0 (identity blocks): make them non-trivial
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def test_onnx_matches_pytorch_at_another_size(tmp_path):
    net = _trained_like_net()
    path = tmp_path / "net.onnx"
    assert export_onnx(net, path, size=32, multiple=8) < 1e-4
    x = torch.rand(1, 3, 40, 56)  # dynamic axes: a size other than the traced one
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        ref = net(x).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() < 1e-4


def test_torchscript_matches_pytorch(tmp_path):
    net = _trained_like_net()
    path = tmp_path / "net.pt"
    assert export_torchscript(net, path, size=32, multiple=8) < 1e-5
    loaded = torch.jit.load(str(path))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x), atol=1e-5)


def test_export_cli_from_artifact_and_bad_format(tmp_path):
    art = save_model_artifact(_trained_like_net(), "nafnet_tiny", {}, tmp_path / "model.safetensors")
    runner = CliRunner()
    ok = runner.invoke(app, ["export", "-m", str(art), "-o", str(tmp_path / "m.onnx"), "--size", "32"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "m.onnx").stat().st_size > 1000
    bad = runner.invoke(app, ["export", "-m", str(art), "-o", str(tmp_path / "m.x"), "-f", "tflite"])
    assert bad.exit_code == 2 and "onnx or torchscript" in bad.output
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(art.read_bytes()[:100])
    res = runner.invoke(app, ["export", "-m", str(trunc), "-o", str(tmp_path / "t.onnx")])
    assert res.exit_code == 2 and "trunc.safetensors" in res.output
