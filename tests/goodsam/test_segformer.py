"""SegFormer sizes, parameter counts, loading, input normalization and output size."""
import json

import pytest
import torch
import torch.nn.functional as F

from samdistill.engine.artifact import CheckpointError
from samdistill.models.segformer import (
    IMAGENET_MEAN, IMAGENET_STD, SEGFORMER_SIZES, SegmentationNet, build_segformer, load_segformer, segformer_config,
)


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_b0_parameter_count():
    assert _count(build_segformer("b0", 19)) == 3_719_027


def test_b5_parameter_count_without_allocating():
    with torch.device("meta"):  # shapes only: B5 is never run nor even initialized here
        model = build_segformer("b5", 19)
    assert _count(model) == 84_607_955


def test_sizes_and_config():
    assert SEGFORMER_SIZES["b2"]["depths"] == [3, 4, 6, 3]
    assert [SEGFORMER_SIZES[s]["decoder_hidden_size"] for s in ("b0", "b1", "b2", "b5")] == [256, 256, 768, 768]
    cfg = segformer_config("B0", 13)
    assert cfg.num_labels == 13 and cfg.id2label[11] == "person" and cfg.id2label[12] == "car"
    assert segformer_config("mit-b0").id2label[0] == "road"
    assert segformer_config("b0").semantic_loss_ignore_index == 255
    with pytest.raises(ValueError, match="unknown SegFormer size 'b9'"):
        segformer_config("b9")
    sizes = [_count(build_segformer(s)) for s in ("tiny", "mini")]
    assert sizes[0] < sizes[1] < 3_719_027


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return SegmentationNet.build("tiny", 19).eval()


def test_output_has_the_input_size_for_odd_sizes(tiny):
    x = torch.rand(2, 3, 67, 131)
    with torch.no_grad():
        logits, feats = tiny.forward_with_features(x)
        assert torch.allclose(tiny(x), logits)
    assert logits.shape == (2, 19, 67, 131) and tiny.num_classes == 19
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 17, 33), (32, 9, 17), (64, 5, 9), (128, 3, 5)]
    with pytest.raises(ValueError, match="B, 3, H, W"):
        tiny(torch.rand(3, 8, 8))


def test_normalization_is_applied(tiny):
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        for img, raw_input in ((mean.expand(1, 3, 32, 48), torch.zeros(1, 3, 32, 48)),
                               ((mean + std).expand(1, 3, 32, 48), torch.ones(1, 3, 32, 48))):
            raw = tiny.segformer(pixel_values=raw_input).logits
            raw = F.interpolate(raw, size=(32, 48), mode="bilinear", align_corners=False)
            assert torch.allclose(tiny(img), raw, atol=1e-5)
    assert set(tiny.state_dict()) == {f"segformer.{k}" for k in tiny.segformer.state_dict()}  # no buffers saved


def test_save_and_load_give_identical_outputs(tiny, tmp_path):
    tiny.save_pretrained(tmp_path / "student")
    loaded = SegmentationNet(load_segformer(tmp_path / "student")).eval()
    x = torch.rand(1, 3, 40, 72)
    with torch.no_grad():
        assert torch.equal(tiny(x), loaded(x))
    # a 19-class model re-headed for the 13-class protocol keeps its encoder
    re13 = SegmentationNet.from_pretrained(tmp_path / "student", num_classes=13)
    assert re13.num_classes == 13 and re13.segformer.config.id2label[12] == "car"
    enc = tiny.segformer.segformer.state_dict()
    assert all(torch.equal(v, enc[k]) for k, v in re13.segformer.segformer.state_dict().items())


def test_load_errors_name_the_folder(tmp_path):
    with pytest.raises(CheckpointError, match="missing_dir.*does not exist"):
        load_segformer(tmp_path / "missing_dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="empty has no config.json"):
        load_segformer(tmp_path / "empty")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="bert holds a 'bert' model"):
        load_segformer(tmp_path / "bert")
    segformer_config("tiny").save_pretrained(tmp_path / "noweights")
    with pytest.raises(CheckpointError, match="noweights"):
        load_segformer(tmp_path / "noweights")


def test_goodsam_segformer_re_exports_the_models_network():
    import samdistill.goodsam.segformer as old
    import samdistill.models.segformer as new

    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name), name
