"""Official SAM 2 / 2.1 checkpoints (sam2.1_hiera_*.pt): a tiny random Sam2Model written in sam2's own key
layout (`{"model": state_dict}` with the video modules), loaded through `priors.backend: sam2`, gives the
outputs of the model it was written from; the released variants' architectures are read off the tensors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from samdistill.core.errors import CheckpointError
from samdistill.priors.cache import fingerprint_hash
from samdistill.priors.config import PriorsConfig, SAM2Config
from samdistill.priors.provider import PriorProvider
from samdistill.priors.segmenter import build_segmenter

from tiny_sam import make_test_image
from tiny_sam2 import IMAGE_SIZE, VIDEO_TENSORS, official_sam2_state, tiny_sam2_model

from samdistill.priors.sam2 import Sam2Predictor, Sam2Segmenter, inspect_sam2, load_sam2  # noqa: E402
from samdistill.priors.sam2.official import config_dict_from_official, official_to_hf  # noqa: E402

transformers = pytest.importorskip("transformers")

LOOSE = dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=0.7)
# What the tiny model's weights cannot say (a released file needs no side-car)
SIDECAR = {"image_size": IMAGE_SIZE,
           "vision_config": {"backbone_config": {"num_attention_heads_per_stage": [1, 1, 2, 2],
                                                 "window_size_per_stage": [4, 4, 4, 2],
                                                 "global_attention_blocks": [3]}},
           "mask_decoder_config": {"num_attention_heads": 4}}


def write_pt(model, path, sidecar=True):
    torch.save({"model": official_sam2_state(model)}, path)
    if sidecar:
        path.with_suffix(".json").write_text(json.dumps(SIDECAR))
    return path


@pytest.fixture(scope="module")
def sam2_pt(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_sam2_pt")
    models = {seed: tiny_sam2_model(seed) for seed in (0, 1)}
    models[0].save_pretrained(root / "hf")
    return {"models": models, "hf": root / "hf",
            0: write_pt(models[0], root / "sam2.1_tiny_seed0.pt"), 1: write_pt(models[1], root / "sam2.1_tiny_seed1.pt")}


def test_written_file_has_sam2s_key_layout():
    state = official_sam2_state(tiny_sam2_model())
    for key in ("image_encoder.trunk.patch_embed.proj.weight", "image_encoder.trunk.blocks.1.proj.weight",
                "image_encoder.trunk.blocks.0.mlp.layers.1.bias", "image_encoder.neck.convs.3.conv.weight",
                "sam_prompt_encoder.point_embeddings.3.weight", "sam_prompt_encoder.mask_downscaling.6.bias",
                "sam_mask_decoder.transformer.layers.1.mlp.layers.1.weight",
                "sam_mask_decoder.transformer.layers.0.cross_attn_image_to_token.out_proj.weight",
                "sam_mask_decoder.transformer.norm_final_attn.weight",
                "sam_mask_decoder.output_hypernetworks_mlps.3.layers.2.weight",
                "sam_mask_decoder.pred_obj_score_head.layers.1.bias", "sam_mask_decoder.output_upscaling.3.weight",
                "no_mem_embed", *VIDEO_TENSORS):
        assert key in state, key
    hf_words = ("vision_encoder", "backbone", "layer_norm", "proj_in", "proj_out", "o_proj", "projection",
                ".point_embed.", "upscale", ".mask_embed.", "shared_")
    assert not [k for k in state if any(w in k for w in hf_words)]


def test_official_pt_loads_as_sam2model_with_identical_weights(sam2_pt):
    model, info = load_sam2(sam2_pt[0])
    assert type(model).__name__ == "Sam2Model" and not model.training
    assert (info.source, info.model_type, info.variant, info.image_size) == ("official", "sam2", "custom", IMAGE_SIZE)
    assert [f.name for f in info.files] == ["sam2.1_tiny_seed0.pt", "sam2.1_tiny_seed0.json"]
    assert inspect_sam2(sam2_pt[0]) == info
    original, loaded = sam2_pt["models"][0].state_dict(), model.state_dict()
    assert set(loaded) == set(original)
    for key, value in original.items():
        assert torch.equal(loaded[key], value), key
    assert not [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    assert model.config.vision_config.backbone_config.global_attention_blocks == [3]


def test_converted_model_gives_the_same_outputs_and_masks(sam2_pt):
    image = make_test_image(40, 56)
    points = torch.tensor([[5.0, 7.0], [30.0, 20.0], [50.0, 35.0]])
    results = []
    for model in (sam2_pt["models"][0], load_sam2(sam2_pt[0])[0]):
        predictor = Sam2Predictor(model)
        state = predictor.encode(predictor.to_tensor(image))
        results.append(predictor.decode_points(state, points))
    (low0, iou0), (low1, iou1) = results
    assert low0.abs().max() > 0.5  # real logits, not an all-zero decoder
    assert torch.equal(low0, low1) and torch.equal(iou0, iou1)
    from_pt = Sam2Segmenter(SAM2Config(checkpoint=str(sam2_pt[0]), device="cpu", amg=LOOSE))(image)
    from_hf = Sam2Segmenter(SAM2Config(checkpoint=str(sam2_pt["hf"]), device="cpu", amg=LOOSE))(image)
    assert len(from_pt) > 0 and np.array_equal(from_pt.masks, from_hf.masks)
    assert np.array_equal(from_pt.predicted_iou, from_hf.predicted_iou)


def test_backend_sam2_runs_an_official_pt_end_to_end(sam2_pt, tmp_path):
    cfg = PriorsConfig(backend="sam2", cache_dir=str(tmp_path / "cache"),
                       sam2={"checkpoint": str(sam2_pt[0]), "device": "cpu", "amg": LOOSE})
    assert isinstance(build_segmenter(cfg), Sam2Segmenter)
    masks = PriorProvider(cfg).masks_for(make_test_image(40, 56))
    assert len(masks) > 0 and masks.masks.shape[1:] == (40, 56) and masks.masks.dtype == bool


def test_fingerprint_differs_between_checkpoints_and_formats(sam2_pt):
    fps = [Sam2Segmenter(SAM2Config(checkpoint=str(p), device="cpu")).fingerprint()
           for p in (sam2_pt[0], sam2_pt[1], sam2_pt["hf"])]
    assert set(fps[0]["checkpoint_sha256"]) == {"sam2.1_tiny_seed0.pt", "sam2.1_tiny_seed0.json"}
    assert fps[0]["checkpoint_sha256"]["sam2.1_tiny_seed0.pt"] != fps[1]["checkpoint_sha256"]["sam2.1_tiny_seed1.pt"]
    assert len({fingerprint_hash(fp) for fp in fps}) == 3


def test_truncated_or_foreign_files_are_clear_errors(sam2_pt, tiny_sam_files, tmp_path):
    data = sam2_pt[0].read_bytes()
    cut = tmp_path / "sam2.1_hiera_tiny.pt"
    cut.write_bytes(data[: len(data) // 2])
    for fn in (inspect_sam2, load_sam2):
        with pytest.raises(CheckpointError, match="sam2.1_hiera_tiny.pt: cannot read checkpoint"):
            fn(cut)
    with pytest.raises(CheckpointError, match="not a SAM 2 checkpoint.*priors.backend=sam"):
        load_sam2(tiny_sam_files["pth"])  # a SAM (v1) .pth
    pickled = tmp_path / "pickled.pt"
    torch.save({"model": official_sam2_state(sam2_pt["models"][0]), "extra": object()}, pickled)
    with pytest.raises(CheckpointError, match="pickled.pt: cannot read checkpoint"):
        load_sam2(pickled)  # never unpickles arbitrary objects


def test_unreleased_architecture_without_sidecar_says_what_is_missing(sam2_pt, tmp_path):
    path = write_pt(sam2_pt["models"][0], tmp_path / "custom.pt", sidecar=False)
    with pytest.raises(CheckpointError, match=r"not a released SAM 2.*global_attention_blocks.*custom\.json"):
        load_sam2(path)


def test_unknown_keys_are_listed(sam2_pt, tmp_path):
    state = official_sam2_state(sam2_pt["models"][0])
    state["sam_mask_decoder.surprise.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="surprise"):
        official_to_hf(state, "x.pt")


# The released image encoders as transformers' conversion script configures them (from sam2's yaml files)
RELEASED = {
    "hiera_t": dict(hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 7, 2],
                    global_attention_blocks=[5, 7, 9], window_positional_embedding_background_size=[7, 7],
                    window_size_per_stage=[8, 4, 14, 7]),
    "hiera_s": dict(hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 11, 2],
                    global_attention_blocks=[7, 10, 13], window_positional_embedding_background_size=[7, 7],
                    window_size_per_stage=[8, 4, 14, 7]),
    "hiera_b+": dict(hidden_size=112, num_attention_heads=2, blocks_per_stage=[2, 3, 16, 3],
                     global_attention_blocks=[12, 16, 20], window_positional_embedding_background_size=[14, 14],
                     window_size_per_stage=[8, 4, 14, 7]),
    "hiera_l": dict(hidden_size=144, num_attention_heads=2, blocks_per_stage=[2, 6, 36, 4],
                    global_attention_blocks=[23, 33, 43], window_positional_embedding_background_size=[7, 7],
                    window_size_per_stage=[8, 4, 16, 8]),
}


@pytest.mark.parametrize("variant", sorted(RELEASED))
def test_released_variants_are_read_from_the_tensor_shapes(variant, tmp_path):
    hiera = dict(RELEASED[variant])
    width, heads = hiera["hidden_size"], hiera["num_attention_heads"]
    hiera.update(model_type="sam2_hiera_det_model", embed_dim_per_stage=[width * 2 ** s for s in range(4)],
                 num_attention_heads_per_stage=[heads * 2 ** s for s in range(4)])
    config = transformers.Sam2Config(vision_config=dict(backbone_config=hiera,
                                                        backbone_channel_list=[width * 2 ** s for s in (3, 2, 1, 0)]))
    with torch.device("meta"):  # shapes only: no real-size weights are made
        model = transformers.Sam2Model(config)
    state = official_sam2_state(model)
    cfg, name = config_dict_from_official(state, tmp_path / "x.pt")
    assert name == variant
    read = transformers.Sam2Config(**cfg)
    got, want = read.vision_config.backbone_config, config.vision_config.backbone_config
    for field in ("hidden_size", "blocks_per_stage", "embed_dim_per_stage", "num_attention_heads_per_stage",
                  "window_size_per_stage", "global_attention_blocks", "window_positional_embedding_background_size",
                  "mlp_ratio", "image_size"):
        assert list(np.atleast_1d(getattr(got, field))) == list(np.atleast_1d(getattr(want, field))), field
    assert read.vision_config.backbone_channel_list == config.vision_config.backbone_channel_list
    assert read.vision_config.backbone_feature_sizes == config.vision_config.backbone_feature_sizes
    assert read.mask_decoder_config.to_dict() == config.mask_decoder_config.to_dict()
    assert read.prompt_encoder_config.to_dict() == config.prompt_encoder_config.to_dict()
    with torch.device("meta"):
        rebuilt = transformers.Sam2Model(read)
    converted = official_to_hf(state)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
