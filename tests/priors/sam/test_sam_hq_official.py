"""SAM-HQ's official checkpoints (sam_hq_vit_{b,l,h}.pth): a tiny random SamHQModel written in sam-hq's
key layout, converted on load, gives the outputs of the model it was written from."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from samdistill.priors.config import AMGConfig, SAMConfig
from samdistill.priors.sam import MaskGenerator, SamPredictor, SamSegmenter, inspect_sam, load_sam
from samdistill.priors.sam.convert import hf_to_official, official_to_hf

from test_sam_loading import WB, official_sam_keys
from tiny_sam import make_test_image, randomize, tiny_sam_hq_model

transformers = pytest.importorskip("transformers")


def official_hq_extra_keys() -> set[str]:
    """What sam-hq's MaskDecoderHQ adds to segment-anything's state dict, from its module layout:
    hf_token (Embedding), hf_mlp (3-layer MLP), compress_vit_feat / embedding_encoder /
    embedding_maskfeature (Sequential: conv, LayerNorm2d, GELU, conv)."""
    keys = {"mask_decoder.hf_token.weight"}
    keys |= {f"mask_decoder.hf_mlp.layers.{k}.{p}" for k in range(3) for p in WB}
    for seq in ("compress_vit_feat", "embedding_encoder", "embedding_maskfeature"):
        keys |= {f"mask_decoder.{seq}.{i}.{p}" for i in (0, 1, 3) for p in WB}
    return keys


@pytest.fixture(scope="module")
def hq_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_sam_hq")
    model = randomize(tiny_sam_hq_model(), seed=3)
    with torch.no_grad():
        model.mask_decoder.hq_mask_mlp.proj_out.weight.mul_(8.0)
    model.save_pretrained(root / "hf")
    official = hf_to_official(model.state_dict())
    torch.save(official, root / "sam_hq_tiny.pth")
    return {"model": model, "hf": root / "hf", "pth": root / "sam_hq_tiny.pth", "official": official}


def test_written_checkpoint_has_sam_hqs_key_layout(hq_files):
    assert set(hq_files["official"]) == official_sam_keys(2) | official_hq_extra_keys()
    with torch.device("meta"):
        full = transformers.SamHQModel(transformers.SamHQConfig())
    assert set(official_to_hf(hf_to_official(full.state_dict()))) == set(full.state_dict())


def test_official_hq_pth_loads_as_samhq_with_identical_weights(hq_files):
    model, info = load_sam(hq_files["pth"])
    assert type(model).__name__ == "SamHQModel"
    assert (info.source, info.model_type, info.variant) == ("official", "sam_hq", "custom")
    assert inspect_sam(hq_files["pth"]) == info
    assert model.config.mask_decoder_config.vit_dim == 32
    original = hq_files["model"].state_dict()
    loaded = model.state_dict()
    assert set(loaded) == set(original)
    for key, value in original.items():
        assert torch.equal(loaded[key], value), key


def test_converted_model_gives_the_same_outputs_and_masks(hq_files):
    image = make_test_image()
    points = torch.tensor([[5.0, 7.0], [30.0, 20.0], [50.0, 35.0]])
    amg = AMGConfig(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    results = []
    for model in (hq_files["model"], load_sam(hq_files["pth"])[0], load_sam(hq_files["hf"])[0]):
        predictor = SamPredictor(model)
        assert predictor.is_hq
        state = predictor.encode(predictor.to_tensor(image))
        low, iou = predictor.decode_points(state, points)
        results.append((low, iou, MaskGenerator(predictor, amg)(image)))
    (low0, iou0, masks0), *others = results
    assert low0.abs().max() > 0.5  # real logits, not an all-zero decoder
    assert len(masks0) > 0
    for low, iou, masks in others:
        assert torch.equal(low, low0) and torch.equal(iou, iou0)
        assert np.array_equal(masks.masks, masks0.masks)


def test_fingerprint_tells_sam_hq_from_sam(hq_files, tiny_sam_files):
    hq = SamSegmenter(SAMConfig(checkpoint=str(hq_files["pth"]), device="cpu")).fingerprint()
    sam = SamSegmenter(SAMConfig(checkpoint=str(tiny_sam_files["pth"]), device="cpu")).fingerprint()
    assert (hq["model_type"], sam["model_type"]) == ("sam_hq", "sam")
    assert hq["checkpoint_sha256"] != sam["checkpoint_sha256"]
