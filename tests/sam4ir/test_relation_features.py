"""SGR's feature extractors: the trained street-world stand-in loads by name, like VGG's files."""
import pytest
import torch

from samdistill.engine.artifact import CheckpointError, atomic_save_file
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.vgg import STANDIN_ARCH, build_random_conv, build_relation_features, feature_layers


def _save_features(layers: torch.nn.Sequential, path):
    return atomic_save_file({f"features.{k}": v.contiguous() for k, v in layers.state_dict().items()}, path)


def test_street_conv_loads_its_trained_weights(tmp_path):
    torch.manual_seed(3)
    layers = feature_layers(STANDIN_ARCH)
    path = _save_features(layers, tmp_path / "street_conv.safetensors")
    net = build_relation_features("street_conv", str(path))
    x = torch.rand(2, 3, 32, 48)
    expected = layers((x - net.mean) / net.std)
    got = net(x)
    assert got.shape == (2, 512, 4, 6)
    torch.testing.assert_close(got, expected.contiguous(), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got, build_random_conv(0)(x))  # not the random stand-in
    assert not any(p.requires_grad for p in net.parameters())


def test_street_conv_needs_weights_and_names_the_script():
    with pytest.raises(CheckpointError, match="sgr_standin.py"):
        build_relation_features("street_conv", None)


def test_street_conv_refuses_vgg_shaped_weights(tmp_path):
    path = _save_features(feature_layers("vgg16"), tmp_path / "vgg16.safetensors")
    with pytest.raises(CheckpointError, match="not street_conv weights"):
        build_relation_features("street_conv", str(path))


def test_config_accepts_street_conv():
    cfg = SAM4IRConfig.model_validate({"enabled": True, "sgr": {"features": "street_conv", "vgg_weights": "x"}})
    assert cfg.sgr.features == "street_conv"
