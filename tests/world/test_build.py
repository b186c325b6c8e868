"""The world on disk: determinism, the real layouts read by the segmentation loaders, encodings."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from samdistill.data.segmentation.config import SegDatasetConfig
from samdistill.data.segmentation.dataset import SegmentationDataset
from samdistill.data.segmentation.labels import TRAIN_ID, label_id_to_train_id_lut
from samdistill.data.segmentation.layouts import find_samples
from samdistill.world.build import WorldBuildConfig, build_world, consecutive_ids, render_job, jobs


def tree_digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


TINY = dict(pinhole_train=2, pinhole_val=1, pano_train=1, pano_val=1, pinhole_size=(24, 48), pano_size=(16, 80))


def test_same_seed_same_bytes_other_seed_other_scenes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    build_world(a, WorldBuildConfig(**TINY), progress=False)
    build_world(b, WorldBuildConfig(**TINY), progress=False)
    build_world(c, WorldBuildConfig(**TINY, seed=1), progress=False)
    assert tree_digest(a) == tree_digest(b)
    first = "pinhole/leftImg8bit/train/alderton/alderton_000000_000019_leftImg8bit.png"
    assert (a / first).read_bytes() != (c / first).read_bytes()


def test_an_image_does_not_depend_on_how_many_are_built():
    small, big = WorldBuildConfig(**TINY), WorldBuildConfig(**{**TINY, "pinhole_train": 5})
    np.testing.assert_array_equal(render_job(jobs(small)[1], small).rgb, render_job(jobs(big)[1], big).rgb)


def test_source_and_target_scenes_use_disjoint_seeds():
    from samdistill.world.build import scene_seed

    source = {scene_seed(0, "source", s, i) for s in ("train", "val") for i in range(300)}
    target = {scene_seed(0, "target", s, i) for s in ("train", "val") for i in range(300)}
    assert not source & target


def test_cityscapes_layout_is_read_by_the_loader(small_world):
    cfg = SegDatasetConfig(layout="cityscapes", root=str(small_world / "pinhole"), split="train")
    samples = find_samples(cfg)
    assert len(samples) == 6 and not samples.scan_problems
    assert all(s.label_kind == "trainIds" for s in samples)
    item = SegmentationDataset(cfg)[0]
    assert item["image"].shape == (3, 128, 256) and item["label"].shape == (128, 256)
    # labelIds written beside map back to the same train ids
    label_ids = np.asarray(Image.open(str(samples[0].label).replace("labelTrainIds", "labelIds")))
    np.testing.assert_array_equal(label_id_to_train_id_lut()[label_ids], item["label"].numpy())


def test_densepass_layout_is_read_by_the_loader(small_world):
    val = SegDatasetConfig(layout="densepass", root=str(small_world / "pano"), split="val")
    train = SegDatasetConfig(layout="densepass", root=str(small_world / "pano"), split="train")
    assert len(find_samples(val)) == 3 and all(s.label is not None for s in find_samples(val))
    assert len(find_samples(train)) == 2 and all(s.label is None for s in find_samples(train))
    item = SegmentationDataset(val)[0]
    assert item["image"].shape == (3, 128, 640)
    assert not (small_world / "pano" / "gtFine" / "train").exists()  # target train panoramas are unlabeled


def test_instance_ids_follow_cityscapes_encoding(small_world):
    for path in (small_world / "pinhole" / "gtFine").rglob("*_instanceIds.png"):
        inst = np.asarray(Image.open(path)).astype(np.int64)
        labels = np.asarray(Image.open(str(path).replace("instanceIds", "labelIds"))).astype(np.int64)
        np.testing.assert_array_equal(np.where(inst >= 1000, inst // 1000, inst), labels)
        cars = inst[labels == 26]
        if cars.size:
            assert cars.min() >= 26000  # every car pixel carries an instance
            return
    pytest.fail("no car in the small world")


def test_depth_is_16bit_millimetres_and_zero_for_sky(small_world):
    depth_path = next((small_world / "pinhole" / "depth").rglob("*_depth.png"))
    stem = depth_path.name[: -len("_depth.png")]
    depth = np.asarray(Image.open(depth_path)).astype(np.int64)
    label = np.asarray(Image.open(next((small_world / "pinhole" / "gtFine").rglob(f"{stem}_gtFine_labelTrainIds.png"))))
    assert Image.open(depth_path).mode.startswith("I")  # 16-bit
    assert np.all(depth[label == TRAIN_ID["sky"]] == 0) and np.all(depth[label != TRAIN_ID["sky"]] > 0)
    # the road right below a 1.2-1.5 m high camera, bottom row centre: about 2-10 m
    assert 1500 < depth[-1, depth.shape[1] // 2] < 10000


def test_segments_split_stuff_and_parts_nest_inside_segments(small_world):
    seg_path = next((small_world / "pano" / "world" / "val").glob("*_segmentIds.png"))
    segments = np.asarray(Image.open(seg_path)).astype(np.int64)
    parts = np.asarray(Image.open(str(seg_path).replace("segmentIds", "partIds"))).astype(np.int64)
    label = np.asarray(Image.open(small_world / "pano" / "gtFine" / "val" / seg_path.name.replace("_segmentIds", "_labelTrainIds")))
    assert segments.min() >= 1 and parts.max() > 0
    for part in np.unique(parts[parts > 0]):
        assert len(np.unique(segments[parts == part])) == 1  # a part lies inside one segment
    for seg in np.unique(segments):
        assert len(np.unique(label[segments == seg])) == 1  # a segment has one class


def test_consecutive_ids_order_and_zero():
    ids = np.array([[70, 70, 0], [5, 0, 70]])
    np.testing.assert_array_equal(consecutive_ids(ids, keep_zero=True), [[1, 1, 0], [2, 0, 1]])
    np.testing.assert_array_equal(consecutive_ids(ids, keep_zero=False), [[1, 1, 2], [3, 2, 1]])


def test_manifest_counts_classes(small_world):
    m = json.loads((small_world / "manifest.json").read_text())
    assert m["counts"] == {"pinhole_train": 6, "pinhole_val": 2, "pano_train": 2, "pano_val": 3}
    assert len(m["class_pixels"]["source"]) == 19
    assert sum(m["class_pixels"]["source"]) == 8 * 128 * 256
    assert sum(m["class_pixels"]["target"]) == 5 * 128 * 640


def test_bad_build_config_is_refused():
    with pytest.raises(ValueError, match="pinhole_train"):
        WorldBuildConfig(pinhole_train=-1)
    with pytest.raises(ValueError, match="pano_size"):
        WorldBuildConfig(pano_size=(4, 640))


def test_no_domain_shift_renders_panoramas_in_the_source_style():
    from samdistill.world.build import Job

    shifted, plain = WorldBuildConfig(**TINY), WorldBuildConfig(**TINY, domain_shift=False)
    job = Job("target", "val", 0, "", None)
    a, b = render_job(job, shifted), render_job(job, plain)
    assert a.rgb.shape == b.rgb.shape and not np.array_equal(a.rgb, b.rgb)
    # the target style adds sensor noise: neighbouring sky pixels differ more there
    sky_a, sky_b = a.label == TRAIN_ID["sky"], b.label == TRAIN_ID["sky"]
    assert sky_a[:, 1:].any() and sky_b[:, 1:].any()
    assert np.abs(np.diff(a.rgb, axis=1))[sky_a[:, 1:]].mean() > np.abs(np.diff(b.rgb, axis=1))[sky_b[:, 1:]].mean()


def test_every_world_class_appears_in_both_domains_at_default_size(tmp_path):
    from samdistill.world.scene import WORLD_CLASSES

    out = tmp_path / "w"
    build_world(out, WorldBuildConfig(pinhole_train=12, pinhole_val=0, pano_train=0, pano_val=10), progress=False)
    for tree in ("pinhole/gtFine/train", "pano/gtFine/val"):
        seen = set()
        for path in (out / tree).rglob("*_labelTrainIds.png"):
            seen |= set(np.unique(np.asarray(Image.open(path))).tolist())
        assert seen == set(WORLD_CLASSES), (tree, sorted(set(WORLD_CLASSES) - seen), sorted(seen - set(WORLD_CLASSES)))
    assert len(WORLD_CLASSES) >= 10
