"""SAM 3 backend: a tiny random Sam3Model + CLIP tokenizer saved as a Hugging Face folder, loaded by
the real loader, run end to end to a MaskSet whose masks carry class ids; class-carrying masks in
the cache (and its top-N side-car); fingerprints that tell backends, checkpoints and class lists apart."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tiny_sam import make_test_image
from tiny_sam3 import IMAGE_SIZE, save_tiny_sam3

from samdistill.core.errors import CheckpointError  # noqa: E402
from samdistill.priors.cache import MaskCache, fingerprint_hash  # noqa: E402
from samdistill.priors.config import CITYSCAPES_CLASSES, PriorsConfig, SAM3Config  # noqa: E402
from samdistill.priors.maskset import MaskSet  # noqa: E402
from samdistill.priors.sam3 import Sam3Segmenter, inspect_sam3, load_sam3  # noqa: E402
from samdistill.priors.sam3.loading import TEXT_LENGTH  # noqa: E402
from samdistill.priors.sam3.segmenter import preprocess_sam3  # noqa: E402
from samdistill.priors.segmenter import BACKENDS, build_segmenter, describe_fingerprint  # noqa: E402

CLASSES = ["road", "car", "sky"]


@pytest.fixture(scope="module")
def sam3_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_sam3")
    return {seed: save_tiny_sam3(root / f"seed{seed}", seed) for seed in (0, 1)}


def segmenter(path, **kw) -> Sam3Segmenter:
    return Sam3Segmenter(SAM3Config(checkpoint=str(path), device="cpu", **{"classes": CLASSES, **kw}))


def test_end_to_end_masks_carry_class_ids_and_match_the_model(sam3_dirs):
    seg = build_segmenter(PriorsConfig(backend="sam3", sam3=dict(checkpoint=str(sam3_dirs[0]), device="cpu",
                                                                 classes=CLASSES, score_threshold=0.0)))
    assert isinstance(seg, Sam3Segmenter)
    image = make_test_image()
    ms = seg(image)
    assert ms.size == image.shape[:2] and len(ms) > 0 and ms.has_classes
    assert set(ms.class_id.tolist()) <= {0, 1, 2} and np.isnan(ms.predicted_iou).all()
    # reference: the model's plain forward (pixels + input_ids, nothing cached), HF's post-processing
    model, tokenizer, info = load_sam3(sam3_dirs[0])
    assert info.image_size == IMAGE_SIZE
    pixels = preprocess_sam3(torch.from_numpy(image).permute(2, 0, 1), IMAGE_SIZE)
    for cid, name in enumerate(CLASSES):
        tok = tokenizer([name], padding="max_length", max_length=TEXT_LENGTH, return_tensors="pt")
        with torch.no_grad():
            out = model(pixel_values=pixels, input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        score = out.pred_logits[0].sigmoid() * out.presence_logits[0].sigmoid()
        masks = F.interpolate(out.pred_masks[0].sigmoid()[None], size=image.shape[:2], mode="bilinear",
                              align_corners=False)[0] > 0.5
        keep = masks.flatten(1).any(1)
        mine = ms.class_id == cid
        np.testing.assert_allclose(ms.class_score[mine], score[keep].numpy(), rtol=1e-4, atol=1e-6)
        assert (ms.masks[mine] == masks[keep].numpy()).mean() > 0.999


def test_thresholds_filter_instances(sam3_dirs):
    image = make_test_image()
    every = segmenter(sam3_dirs[0], score_threshold=0.0)(image)
    cut = float(np.median(every.class_score))
    some = segmenter(sam3_dirs[0], score_threshold=cut)(image)
    assert 0 < len(some) < len(every) and (some.class_score > cut).all()
    assert len(segmenter(sam3_dirs[0], score_threshold=1.0)(image)) == 0  # an empty MaskSet, not an error


def test_fingerprint_fields_and_cache_keys_differ(sam3_dirs):
    fp = segmenter(sam3_dirs[0]).fingerprint()
    assert tuple(fp) == BACKENDS["sam3"].fingerprint_fields
    assert set(fp["checkpoint_sha256"]) >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert describe_fingerprint(fp) == "SAM 3 (3 concept prompts)"
    others = [segmenter(sam3_dirs[1]).fingerprint(), segmenter(sam3_dirs[0], classes=["road", "car"]).fingerprint(),
              segmenter(sam3_dirs[0], score_threshold=0.5).fingerprint(),
              segmenter(sam3_dirs[0], mask_threshold=0.6).fingerprint(),
              {**fp, "backend": "sam2"}]
    keys = {fingerprint_hash(f) for f in [fp, *others]}
    assert len(keys) == 6
    assert Sam3Segmenter(SAM3Config(checkpoint=str(sam3_dirs[0]))).cfg.classes == list(CITYSCAPES_CLASSES)


def test_class_ids_survive_the_cache_and_its_side_car(sam3_dirs, tmp_path):
    seg = segmenter(sam3_dirs[0], score_threshold=0.0)
    image = make_test_image()
    ms = seg(image)
    cache = MaskCache(tmp_path)
    path = cache.put("ab" * 32, seg.fingerprint(), ms)
    anns = json.loads(path.read_text())["annotations"]
    assert [a["class_id"] for a in anns] == ms.class_id.tolist()
    back = cache.get("ab" * 32, seg.fingerprint())
    np.testing.assert_array_equal(back.class_id, ms.class_id)
    np.testing.assert_allclose(back.class_score, ms.class_score)
    for _ in range(2):  # first read writes the side-car, the second is served from it
        top = cache.get("ab" * 32, seg.fingerprint(), top=3)
        order = np.argsort(-ms.area, kind="stable")[:3]
        np.testing.assert_array_equal(top.class_id, ms.class_id[order])
        np.testing.assert_array_equal(top.masks, ms.masks[order])


def test_entries_without_classes_still_read_and_bad_class_ids_are_refused(tmp_path):
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :4], masks[1, 4:] = True, True
    cache = MaskCache(tmp_path)
    fp = {"backend": "offline"}
    path = cache.put("cd" * 32, fp, MaskSet(masks))
    entry = json.loads(path.read_text())
    assert all("class_id" not in a for a in entry["annotations"])  # class-less files unchanged
    assert (cache.get("cd" * 32, fp).class_id == -1).all()
    entry["annotations"][0]["class_id"] = "car"
    path.write_text(json.dumps(entry))
    assert cache.get("cd" * 32, fp) is None and not path.exists()  # reported, removed, recomputed
    with pytest.raises(ValueError):
        MaskSet(masks, class_id=[0, -2])


def test_loader_refuses_files_and_folders_without_a_tokenizer(sam3_dirs, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((sam3_dirs[0] / name).read_bytes())
    with pytest.raises(CheckpointError, match="no tokenizer"):
        inspect_sam3(bare)
    (tmp_path / "sam3.pt").write_bytes(b"not unpickled")
    for fn in (inspect_sam3, load_sam3):  # refused with the reason, before reading the file
        with pytest.raises(CheckpointError, match=r"sam3\.pt: official SAM 3 .*not converted.*only a local Hugging "
                           r"Face Sam3Model folder .* Why: .*convert_sam3_to_hf"):
            fn(tmp_path / "sam3.pt")


def test_default_classes_are_cityscapes_train_ids():
    from samdistill.data.segmentation.labels import TRAIN_CLASSES

    assert CITYSCAPES_CLASSES == tuple(name for name, *_ in TRAIN_CLASSES)
