"""A segmentation student exports to ONNX (dynamic size, equal to PyTorch) and to a Hugging Face folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.inference.segment_export import export_segmenter_hf, export_segmenter_onnx, parse_size

runner = CliRunner()


def _trained_like(net):
    """Random SegFormer weights perturbed so the logits are far from uniform (a stricter check)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def test_parse_size() -> None:
    assert parse_size("64") == (64, 64) and parse_size("400x2048") == (400, 2048)
    with pytest.raises(ValueError):
        parse_size("64x")


def test_onnx_equals_pytorch_at_the_traced_and_another_size(tmp_path: Path, tiny_segformer_artifact) -> None:
    _, net = tiny_segformer_artifact()
    net = _trained_like(net)
    result = export_segmenter_onnx(net, tmp_path / "s.onnx", (32, 64))
    assert result["max_abs_diff"] <= 1e-4 and result["checked"] == [[32, 64], [44, 84]]
    session = ort.InferenceSession(str(tmp_path / "s.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and session.get_outputs()[0].name == "logits"
    x = torch.rand(1, 3, 40, 136, generator=torch.Generator().manual_seed(5))  # a panorama-like aspect ratio
    out = session.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        ref = net(x).numpy()
    assert out.shape == (1, 19, 40, 136)
    assert np.abs(out - ref).max() <= 1e-4
    assert np.abs(ref).max() > 1e-2  # not a trivially zero output


def test_hugging_face_folder_loads_in_plain_transformers_with_equal_logits(tmp_path: Path, tiny_segformer_artifact) -> None:
    from transformers import SegformerForSemanticSegmentation

    _, net = tiny_segformer_artifact()
    net = _trained_like(net)
    result = export_segmenter_hf(net, tmp_path / "hf")
    assert result["max_abs_diff"] == 0.0
    loaded = SegformerForSemanticSegmentation.from_pretrained(str(tmp_path / "hf")).eval()
    assert loaded.config.num_labels == 19 and loaded.config.id2label[0] == "road"
    x = torch.rand(2, 3, 32, 96)
    with torch.no_grad():
        pixel_values = net.normalize(x)
        got = loaded(pixel_values=pixel_values).logits
        want = net.segformer(pixel_values=pixel_values).logits
        assert torch.equal(got, want)
        upsampled = torch.nn.functional.interpolate(got, size=(32, 96), mode="bilinear", align_corners=False)
        assert torch.allclose(upsampled, net(x), atol=1e-6)


def test_export_cli_detects_a_segmentation_artifact(tmp_path: Path, tiny_segformer_artifact) -> None:
    path, _ = tiny_segformer_artifact()
    onnx = runner.invoke(app, ["export", "-m", str(path), "-o", str(tmp_path / "s.onnx"), "--size", "32x64"])
    assert onnx.exit_code == 0, onnx.output
    assert "dynamic" in onnx.output and "32x64" in onnx.output and (tmp_path / "s.onnx").stat().st_size > 10_000
    hf = runner.invoke(app, ["export", "-m", str(path), "-o", str(tmp_path / "hf"), "-f", "hf", "--size", "32"])
    assert hf.exit_code == 0, hf.output
    assert (tmp_path / "hf" / "config.json").is_file() and (tmp_path / "hf" / "model.safetensors").is_file()
    # and the exported folder is itself accepted as a checkpoint
    again = runner.invoke(app, ["export", "-m", str(tmp_path / "hf"), "-o", str(tmp_path / "again.onnx"), "--size", "32"])
    assert again.exit_code == 0, again.output


def test_export_cli_format_errors(tmp_path: Path, tiny_segformer_artifact, artifact) -> None:
    path, _ = tiny_segformer_artifact()
    ts = runner.invoke(app, ["export", "-m", str(path), "-o", str(tmp_path / "s.pt"), "-f", "torchscript"])
    assert ts.exit_code == 2 and "onnx or hf for a segmentation network" in ts.output
    hf = runner.invoke(app, ["export", "-m", str(artifact(1.0)), "-o", str(tmp_path / "x"), "-f", "hf"])
    assert hf.exit_code == 2 and "onnx or torchscript" in hf.output
    size = runner.invoke(app, ["export", "-m", str(artifact(1.0)), "-o", str(tmp_path / "r.onnx"), "--size", "8x16"])
    assert size.exit_code == 2 and "one side" in size.output
    not_hf = tmp_path / "empty_dir"
    not_hf.mkdir()
    res = runner.invoke(app, ["export", "-m", str(not_hf), "-o", str(tmp_path / "e.onnx")])
    assert res.exit_code == 2 and "config.json" in res.output
