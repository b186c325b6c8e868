"""Loading SAM from an HF directory and from an official segment-anything .pth."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from samdistill.core.errors import CheckpointError
from samdistill.priors.config import AMGConfig
from samdistill.priors.sam import MaskGenerator, SamPredictor, inspect_sam, load_sam
from samdistill.priors.sam.convert import KeyConversionError, hf_to_official, official_to_hf
from samdistill.priors.sam.official_config import config_dict_from_official

from tiny_sam import make_test_image

transformers = pytest.importorskip("transformers")
WB = ("weight", "bias")


def official_sam_keys(depth: int) -> set[str]:
    """The key names of segment-anything's `Sam` state dict, written from its module layout."""
    keys = {"image_encoder.pos_embed", "image_encoder.patch_embed.proj.weight", "image_encoder.patch_embed.proj.bias"}
    block_parts = ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.lin1", "mlp.lin2"]
    for i in range(depth):
        keys |= {f"image_encoder.blocks.{i}.{part}.{p}" for part in block_parts for p in WB}
        keys |= {f"image_encoder.blocks.{i}.attn.rel_pos_h", f"image_encoder.blocks.{i}.attn.rel_pos_w"}
    keys |= {"image_encoder.neck.0.weight", "image_encoder.neck.2.weight"}
    keys |= {f"image_encoder.neck.{i}.{p}" for i in (1, 3) for p in WB}
    keys |= {"prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "prompt_encoder.not_a_point_embed.weight",
             "prompt_encoder.no_mask_embed.weight"}
    keys |= {f"prompt_encoder.point_embeddings.{i}.weight" for i in range(4)}
    keys |= {f"prompt_encoder.mask_downscaling.{i}.{p}" for i in (0, 1, 3, 4, 6) for p in WB}

    def attn(prefix: str) -> set[str]:
        return {f"{prefix}.{q}_proj.{p}" for q in ("q", "k", "v", "out") for p in WB}

    for i in range(2):
        layer = f"mask_decoder.transformer.layers.{i}"
        keys |= attn(f"{layer}.self_attn") | attn(f"{layer}.cross_attn_token_to_image")
        keys |= attn(f"{layer}.cross_attn_image_to_token")
        keys |= {f"{layer}.norm{n}.{p}" for n in (1, 2, 3, 4) for p in WB}
        keys |= {f"{layer}.mlp.lin{n}.{p}" for n in (1, 2) for p in WB}
    keys |= attn("mask_decoder.transformer.final_attn_token_to_image")
    keys |= {f"mask_decoder.transformer.norm_final_attn.{p}" for p in WB}
    keys |= {"mask_decoder.iou_token.weight", "mask_decoder.mask_tokens.weight"}
    keys |= {f"mask_decoder.output_upscaling.{i}.{p}" for i in (0, 1, 3) for p in WB}
    keys |= {f"mask_decoder.output_hypernetworks_mlps.{t}.layers.{k}.{p}"
             for t in range(4) for k in range(3) for p in WB}
    keys |= {f"mask_decoder.iou_prediction_head.layers.{k}.{p}" for k in range(3) for p in WB}
    return keys


def meta_official_state(hidden: int, depth: int, heads: int, global_attn: list[int]) -> dict:
    """Official-layout state dict of a full-size model, shapes only (meta tensors, no memory)."""
    with torch.device("meta"):
        model = transformers.SamModel(transformers.SamConfig(vision_config=dict(
            hidden_size=hidden, num_hidden_layers=depth, num_attention_heads=heads, global_attn_indexes=global_attn)))
    return hf_to_official(model.state_dict())


OFFICIAL = {  # name: (width, depth, heads, global attention blocks, head dim)
    "vit_b": (768, 12, 12, [2, 5, 8, 11], 64),
    "vit_l": (1024, 24, 16, [5, 11, 17, 23], 64),
    "vit_h": (1280, 32, 16, [7, 15, 23, 31], 80),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_variants_read_from_tensors(name, tmp_path):
    hidden, depth, heads, glob, head_dim = OFFICIAL[name]
    state = meta_official_state(hidden, depth, heads, glob)
    assert set(state) == official_sam_keys(depth)
    # shapes as in the released checkpoints
    assert state["image_encoder.pos_embed"].shape == (1, 64, 64, hidden)
    assert state[f"image_encoder.blocks.{glob[0]}.attn.rel_pos_h"].shape == (127, head_dim)
    assert state["image_encoder.blocks.0.attn.rel_pos_h"].shape == (27, head_dim)
    assert state["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"].shape == (2, 128)
    assert state["mask_decoder.output_upscaling.0.weight"].shape == (256, 64, 2, 2)
    cfg = config_dict_from_official(state, tmp_path / f"sam_{name}.pth")
    vision = cfg["vision_config"]
    dims = (vision["hidden_size"], vision["num_hidden_layers"], vision["num_attention_heads"])
    assert dims == (hidden, depth, heads)
    assert vision["global_attn_indexes"] == glob
    assert (vision["window_size"], vision["image_size"], vision["patch_size"]) == (14, 1024, 16)
    assert (vision["mlp_dim"], vision["output_channels"]) == (4 * hidden, 256)
    assert cfg["mask_decoder_config"]["num_attention_heads"] == 8
    assert cfg["mask_decoder_config"]["mlp_dim"] == 2048


def test_official_keys_round_trip_to_hf_names():
    with torch.device("meta"):
        model = transformers.SamModel(transformers.SamConfig())
    hf = model.state_dict()
    assert set(official_to_hf(hf_to_official(hf))) == set(hf)


def test_hf_dir_and_official_pth_give_identical_outputs(tiny_sam_files):
    image = make_test_image()
    points = torch.tensor([[5.0, 7.0], [30.0, 20.0], [50.0, 35.0]])
    outputs, mask_sets = [], []
    for kind in ("hf", "pth"):
        model, info = load_sam(tiny_sam_files[kind])
        assert (info.source, info.variant, info.image_size) == ({"hf": "hf", "pth": "official"}[kind], "custom", 64)
        predictor = SamPredictor(model)
        state = predictor.encode(predictor.to_tensor(image))
        outputs.append(predictor.decode_points(state, points))
        amg = AMGConfig(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
        mask_sets.append(MaskGenerator(predictor, amg)(image))
    (low_a, iou_a), (low_b, iou_b) = outputs
    assert low_a.shape == (3, 3, 16, 16) and iou_a.shape == (3, 3)
    assert torch.equal(low_a, low_b) and torch.equal(iou_a, iou_b)
    assert len(mask_sets[0]) > 0 and np.array_equal(mask_sets[0].masks, mask_sets[1].masks)
    info = inspect_sam(tiny_sam_files["pth"])
    cfg = load_sam(tiny_sam_files["pth"])[0].config.vision_config
    assert (cfg.num_attention_heads, list(cfg.global_attn_indexes), cfg.window_size) == (2, [1], 2)
    assert info.files == (tiny_sam_files["pth"],)


def test_truncated_pth_names_the_file(tiny_sam_files, tmp_path):
    bad = tmp_path / "sam_vit_b_01ec64.pth"
    data = tiny_sam_files["pth"].read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    for fn in (load_sam, inspect_sam):
        with pytest.raises(CheckpointError, match="sam_vit_b_01ec64.pth.*truncated"):
            fn(bad)


class NotATensor:
    pass


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="evil.pth"):
        load_sam(path)


def test_unknown_and_missing_keys_are_listed(tiny_sam_files, tmp_path):
    state = torch.load(tiny_sam_files["pth"], weights_only=True)
    extra = dict(state, **{"image_encoder.adapter.weight": torch.zeros(2)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(KeyConversionError, match=r"extra\.pth.*image_encoder\.adapter\.weight"):
        load_sam(tmp_path / "extra.pth")
    missing = {k: v for k, v in state.items() if k != "mask_decoder.output_upscaling.1.bias"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"missing\.pth.*upscale_layer_norm\.bias"):
        load_sam(tmp_path / "missing.pth")


def test_sidecar_overrides_decoder_heads(tiny_sam_files, tmp_path):
    pth = tmp_path / "custom.pth"
    shutil.copy(tiny_sam_files["pth"], pth)
    (tmp_path / "custom.json").write_text(json.dumps({"mask_decoder_config": {"num_attention_heads": 4}}))
    model, info = load_sam(pth)
    assert model.config.mask_decoder_config.num_attention_heads == 4
    assert info.files == (pth, tmp_path / "custom.json")
    (tmp_path / "custom.json").write_text(json.dumps({"decoder": {}}))
    with pytest.raises(CheckpointError, match="custom.json.*'decoder'"):
        load_sam(pth)


def test_bad_hf_directories(tiny_sam_files, tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_sam(tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        load_sam(tmp_path / "nope")
    other = tmp_path / "other"
    shutil.copytree(tiny_sam_files["hf"], other)
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(dict(cfg, model_type="bert")))
    with pytest.raises(CheckpointError, match="'bert' is not a SAM model"):
        load_sam(other)
    (other / "config.json").write_text(json.dumps(cfg))
    for f in other.glob("*.safetensors"):
        f.unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        load_sam(other)
