"""SAM 2 backend: a tiny random Sam2Model saved as a Hugging Face folder, loaded by the real loader,
run end to end to a MaskSet and checked against a literal SAM 2 automatic mask generator."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from samdistill.core.errors import CheckpointError
from samdistill.priors.cache import MaskCache, fingerprint_hash
from samdistill.priors.config import AMGConfig, PriorsConfig, SAM2Config, SAMConfig
from samdistill.priors.provider import PriorProvider
from samdistill.priors.sam import SamSegmenter
from samdistill.priors.sam.nms import build_all_layer_point_grids
from samdistill.priors.segmenter import build_segmenter, describe_fingerprint

from tiny_sam import make_test_image
from tiny_sam2 import IMAGE_SIZE, tiny_sam2_model

from samdistill.priors.sam2 import Sam2Predictor, Sam2Segmenter, inspect_sam2, load_sam2  # noqa: E402
from samdistill.priors.sam2.predictor import IMAGENET_MEAN, IMAGENET_STD, preprocess_sam2  # noqa: E402

LOOSE = dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=0.7)


@pytest.fixture(scope="module")
def sam2_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_sam2")
    for seed in (0, 1):
        tiny_sam2_model(seed).save_pretrained(root / f"seed{seed}")
    return {0: root / "seed0", 1: root / "seed1"}


def segmenter(path, **amg) -> Sam2Segmenter:
    return Sam2Segmenter(SAM2Config(checkpoint=str(path), device="cpu", amg=amg))


def test_loader_reads_the_folder_and_its_variant(sam2_dirs):
    model, info = load_sam2(sam2_dirs[0])
    assert type(model).__name__ == "Sam2Model" and not model.training
    assert (info.model_type, info.variant, info.image_size) == ("sam2", "custom", IMAGE_SIZE)
    assert {f.name for f in info.files} == {"config.json", "model.safetensors"}
    assert inspect_sam2(sam2_dirs[0]) == info
    reference = tiny_sam2_model(0)
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_loader_refuses_other_models_and_pt_files(sam2_dirs, tiny_sam_files, tmp_path):
    with pytest.raises(CheckpointError, match="not a SAM 2 model"):
        inspect_sam2(tiny_sam_files["hf"])  # a SamModel folder
    pt = tmp_path / "sam2.1_hiera_tiny.pt"
    pt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="sam2.1_hiera_tiny.pt: cannot read checkpoint"):
        load_sam2(pt)  # official .pt files are converted: tests/priors/sam/test_sam2_official.py
    with pytest.raises(CheckpointError, match="not found"):
        inspect_sam2(tmp_path / "missing")


def test_preprocessing_is_sam2s_square_resize_and_imagenet_normalization():
    image = torch.empty(3, 40, 90)
    color = torch.tensor([0.2, 0.6, 1.0])
    image[:] = color[:, None, None]
    x = preprocess_sam2(image, 64)
    assert x.shape == (1, 3, 64, 64)  # aspect not kept, no padding
    expected = (torch.round(color * 255) / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(x[0].mean(dim=(1, 2)), expected, atol=1e-5)
    assert torch.allclose(x[0].amax(dim=(1, 2)), x[0].amin(dim=(1, 2)), atol=1e-5)


def test_decoding_from_cached_embeddings_equals_the_models_own_forward(sam2_dirs):
    model, _ = load_sam2(sam2_dirs[0])
    predictor = Sam2Predictor(model)
    image = make_test_image(40, 56)
    state = predictor.encode(predictor.to_tensor(image))
    points = torch.tensor([[5.0, 7.0], [30.0, 20.0], [50.0, 35.0]])
    low, iou = predictor.decode_points(state, points)
    assert low.shape == (3, 3, IMAGE_SIZE // 4, IMAGE_SIZE // 4) and iou.shape == (3, 3)
    pixels = preprocess_sam2(predictor.to_tensor(image), IMAGE_SIZE)
    scaled = points * torch.tensor([IMAGE_SIZE / 56, IMAGE_SIZE / 40])
    with torch.no_grad():
        out = model(pixel_values=pixels, input_points=scaled[None, :, None], multimask_output=True)
    assert torch.allclose(low, out.pred_masks[0], atol=1e-4)
    assert torch.allclose(iou, out.iou_scores[0], atol=1e-5)
    full = predictor.upscale(low[:, 0], (40, 56))
    assert full.shape == (3, 40, 56)
    assert torch.allclose(full, F.interpolate(out.pred_masks[0][:, :1], (40, 56), mode="bilinear")[:, 0], atol=1e-4)
    single = Sam2Predictor(model, multimask_output=False).decode_points(state, points)[0]
    assert single.shape[1] == 1


def reference_amg(model, image: np.ndarray, points_per_side: int, pred_iou_thresh: float,
                  stability_score_thresh: float, box_nms_thresh: float) -> list[np.ndarray]:
    """SAM 2's automatic mask generator (one crop) written literally: full-size masks for every
    prompt, IoU filter, stability filter, binarize, boxes, box NMS by predicted IoU."""
    h, w = image.shape[:2]
    pixels = preprocess_sam2(torch.from_numpy(image).permute(2, 0, 1), IMAGE_SIZE)
    grid = torch.as_tensor(build_all_layer_point_grids(points_per_side, 0, 1)[0], dtype=torch.float32)
    points = grid * torch.tensor([w, h]) / torch.tensor([w, h]) * IMAGE_SIZE
    masks, ious, stabs = [], [], []
    with torch.no_grad():
        for batch in points.split(64):
            out = model(pixel_values=pixels, input_points=batch[None, :, None], multimask_output=True)
            logits = F.interpolate(out.pred_masks[0].flatten(0, 1)[:, None], (h, w), mode="bilinear")[:, 0]
            masks.append(logits)
            ious.append(out.iou_scores[0].flatten())
    logits, iou = torch.cat(masks), torch.cat(ious)
    keep = iou > pred_iou_thresh
    logits, iou = logits[keep], iou[keep]
    stab = (logits > 1.0).sum((1, 2)).float() / (logits > -1.0).sum((1, 2)).clamp(min=1).float()
    keep = stab >= stability_score_thresh
    binary, iou = (logits[keep] > 0).numpy(), iou[keep].numpy()
    boxes = []
    for m in binary:
        ys, xs = np.nonzero(m)
        boxes.append((xs.min(), ys.min(), xs.max(), ys.max()) if len(xs) else (0, 0, 0, 0))
    order = np.argsort(-iou, kind="stable")
    kept: list[int] = []
    for i in order:
        if not binary[i].any():
            continue

        def box_iou(a, b):
            ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
            area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
            return ix / (area(a) + area(b) - ix) if area(a) + area(b) - ix > 0 else 0.0
        if all(box_iou(boxes[i], boxes[j]) <= box_nms_thresh for j in kept):
            kept.append(i)
    return [binary[i] for i in kept]


@pytest.mark.parametrize("iou, stability, nms, at_least", [(0.5, 0.5, 1.0, 10), (0.0, 0.0, 0.7, 2)])
def test_segmenter_matches_a_literal_sam2_mask_generator(sam2_dirs, iou, stability, nms, at_least):
    # the tiny random model's masks mostly span the image: NMS at 0.7 keeps few of them
    image = make_test_image(40, 56)
    params = dict(points_per_side=6, pred_iou_thresh=iou, stability_score_thresh=stability, box_nms_thresh=nms)
    result = segmenter(sam2_dirs[0], **params)(image)
    model, _ = load_sam2(sam2_dirs[0])
    expected = reference_amg(model, image, **params)
    assert at_least <= len(result) < 3 * 36
    assert result.masks.shape[1:] == (40, 56) and result.masks.dtype == bool
    assert len(result) == len(expected)
    assert sorted(m.tobytes() for m in result.masks) == sorted(m.tobytes() for m in expected)


def test_preset_is_sam2s_defaults_and_set_keys_win():
    cfg = SAM2Config()
    sam2_defaults = dict(points_per_side=32, points_per_batch=64, pred_iou_thresh=0.8, stability_score_thresh=0.95,
                         stability_score_offset=1.0, mask_threshold=0.0, box_nms_thresh=0.7, crop_n_layers=0,
                         crop_nms_thresh=0.7, crop_n_points_downscale_factor=1, min_mask_region_area=0)
    assert {k: getattr(cfg.amg, k) for k in sam2_defaults} == sam2_defaults and cfg.multimask_output
    assert SAM2Config(amg_preset="sam").amg == AMGConfig()
    assert SAM2Config(amg={"pred_iou_thresh": 0.5}).amg.pred_iou_thresh == 0.5
    dumped = PriorsConfig(backend="sam2", sam2={"amg": {"points_per_side": 8}}).model_dump()
    assert PriorsConfig(**json.loads(json.dumps(dumped))).sam2.amg.pred_iou_thresh == 0.8


def test_backend_sam2_end_to_end_through_the_cache(sam2_dirs, tmp_path, monkeypatch):
    cfg = PriorsConfig(backend="sam2", cache_dir=str(tmp_path / "cache"),
                       sam2={"checkpoint": str(sam2_dirs[0]), "device": "cpu", "amg": LOOSE})
    seg = build_segmenter(cfg)
    assert isinstance(seg, Sam2Segmenter)
    image = make_test_image(40, 56)
    first = PriorProvider(cfg).masks_for(image)
    assert len(first) > 0 and first.masks.shape[1:] == (40, 56)
    provider = PriorProvider(cfg)

    def no_segmenting(self, image):
        raise AssertionError("segmented again instead of reading the cache")

    monkeypatch.setattr(Sam2Segmenter, "__call__", no_segmenting)
    again = provider.masks_for(image)
    assert np.array_equal(first.masks, again.masks)
    assert describe_fingerprint(provider.fingerprint()) == "SAM 2 (custom)"


def test_fingerprint_separates_backends_checkpoints_and_parameters(sam2_dirs, tiny_sam_files, tmp_path):
    a, b = segmenter(sam2_dirs[0]).fingerprint(), segmenter(sam2_dirs[1]).fingerprint()
    sam = SamSegmenter(SAMConfig(checkpoint=str(tiny_sam_files["hf"]), device="cpu")).fingerprint()
    assert a["backend"] == "sam2" and sam["backend"] == "sam"
    assert a["checkpoint_sha256"]["model.safetensors"] != b["checkpoint_sha256"]["model.safetensors"]
    assert a["amg"]["pred_iou_thresh"] == 0.8
    single = Sam2Segmenter(SAM2Config(checkpoint=str(sam2_dirs[0]), multimask_output=False)).fingerprint()
    hashes = {fingerprint_hash(fp) for fp in (a, b, sam, single)}
    assert len(hashes) == 4
    cache = MaskCache(tmp_path)
    assert len({cache.path_for("0" * 64, fp) for fp in (a, b, sam)}) == 3
    assert segmenter(sam2_dirs[0]).fingerprint() == a  # stable


def test_missing_checkpoint_is_a_config_error():
    from samdistill.config.loader import ConfigError

    with pytest.raises(ConfigError, match="priors.sam2.checkpoint"):
        build_segmenter(PriorsConfig(backend="sam2"))


def test_preflight_names_a_missing_sam2_folder(tmp_path):
    from samdistill.preflight import _priors

    assert "priors.sam2.checkpoint: not set" in _priors(PriorsConfig(backend="sam2"))[0]
    missing = PriorsConfig(backend="sam2", sam2={"checkpoint": str(tmp_path / "nope")})
    assert _priors(missing) == [f"priors.sam2.checkpoint: {tmp_path / 'nope'} does not exist"]
    assert _priors(PriorsConfig(backend="sam2", sam2={"checkpoint": str(tmp_path)})) == []


def test_backend_registry_lists_the_real_fingerprint_fields(sam2_dirs, tiny_sam_files):
    from samdistill.priors.segmenter import BACKENDS

    sam = SamSegmenter(SAMConfig(checkpoint=str(tiny_sam_files["pth"]), device="cpu")).fingerprint()
    assert tuple(sam) == BACKENDS["sam"].fingerprint_fields
    assert tuple(segmenter(sam2_dirs[0]).fingerprint()) == BACKENDS["sam2"].fingerprint_fields
