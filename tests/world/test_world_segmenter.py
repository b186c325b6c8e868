"""The ideal segmenter: exact masks for world images, found for degraded versions, refused otherwise."""
import numpy as np
import pytest
from PIL import Image

from samdistill.data import degradations
from samdistill.data.io import read_image
from samdistill.priors.config import PriorsConfig, WorldSegmenterConfig
from samdistill.priors.provider import PriorProvider
from samdistill.priors.segmenter import build_segmenter
from samdistill.priors.world import NotAWorldImage, WorldSegmenter


def first_pinhole(world):
    image = sorted((world / "pinhole" / "leftImg8bit" / "train").rglob("*.png"))[0]
    stem = image.name[: -len("_leftImg8bit.png")]
    seg = next((world / "pinhole" / "world").rglob(f"{stem}_segmentIds.png"))
    return image, seg, seg.with_name(f"{stem}_partIds.png")


@pytest.fixture
def segmenter(small_world):
    return WorldSegmenter(WorldSegmenterConfig(roots=[str(small_world / "pinhole"), str(small_world / "pano")]))


def test_masks_are_the_segments_and_parts_of_the_image(small_world, segmenter):
    image, seg_path, part_path = first_pinhole(small_world)
    masks = segmenter(read_image(image))
    segments = np.asarray(Image.open(seg_path)).astype(np.int64)
    parts = np.asarray(Image.open(part_path)).astype(np.int64)
    n_seg, n_part = len(np.unique(segments)), len(np.unique(parts[parts > 0]))
    assert len(masks) == n_seg + n_part
    # the segment masks partition the image; every part mask equals one part id's pixels
    assert np.all(masks.masks[:n_seg].sum(0) == 1)
    np.testing.assert_array_equal(masks.masks[n_seg], parts == np.unique(parts[parts > 0])[0])
    assert np.all(masks.predicted_iou == 1)
    no_parts = WorldSegmenter(WorldSegmenterConfig(roots=[str(small_world / "pinhole")], parts=False))
    assert len(no_parts(read_image(image))) == n_seg


@pytest.mark.parametrize("kind", ["rain", "noise", "blur"])
def test_degraded_versions_find_their_scene(small_world, segmenter, kind):
    image, _, _ = first_pinhole(small_world)
    clean = read_image(image)
    rng = np.random.default_rng(0)
    degraded = {"rain": lambda: degradations.add_rain(clean, rng, level="heavy"),
                "noise": lambda: degradations.add_gaussian_noise(clean, 25.0, rng),
                "blur": lambda: degradations.motion_blur(clean, rng, 11)}[kind]()
    np.testing.assert_array_equal(segmenter(degraded).masks, segmenter(clean).masks)


def test_an_image_from_elsewhere_is_refused(small_world, segmenter):
    image, _, _ = first_pinhole(small_world)
    noise = np.random.default_rng(1).random(read_image(image).shape).astype(np.float32)
    with pytest.raises(NotAWorldImage, match="correlation"):
        segmenter(noise)
    with pytest.raises(NotAWorldImage, match="no street-world image is 10x10"):
        segmenter(np.zeros((10, 10, 3), np.float32))


def test_backend_world_through_the_provider_and_cache(small_world, tmp_path):
    cfg = PriorsConfig(backend="world", cache_dir=str(tmp_path / "masks"),
                       world={"roots": [str(small_world / "pinhole")]})
    assert isinstance(build_segmenter(cfg), WorldSegmenter)
    image, _, _ = first_pinhole(small_world)
    provider = PriorProvider(cfg)
    first = provider.masks_for(read_image(image))
    again = PriorProvider(cfg).masks_for(read_image(image))
    np.testing.assert_array_equal(first.masks, again.masks)
    assert any((tmp_path / "masks").rglob("*.json"))  # written to the mask cache


def test_fingerprint_names_the_index(small_world, segmenter):
    one = WorldSegmenter(WorldSegmenterConfig(roots=[str(small_world / "pinhole")]))
    assert one.fingerprint()["backend"] == "world"
    assert one.fingerprint()["index"] != segmenter.fingerprint()["index"]
    assert WorldSegmenter(WorldSegmenterConfig(roots=[str(small_world / "pinhole")], parts=False)).fingerprint() != one.fingerprint()


def test_a_root_without_index_is_a_config_error(tmp_path):
    from samdistill.config.loader import ConfigError

    with pytest.raises(ConfigError, match="world_index.npz"):
        WorldSegmenter(WorldSegmenterConfig(roots=[str(tmp_path)]))


def test_by_reference_a_bad_restoration_gets_its_scenes_masks(small_world, segmenter):
    image, _, _ = first_pinhole(small_world)
    clean = read_image(image)
    garbage = np.zeros_like(clean)  # what an untrained network may output
    with pytest.raises(NotAWorldImage):
        segmenter(garbage)
    np.testing.assert_array_equal(segmenter.segment_by_reference(garbage, clean).masks, segmenter(clean).masks)


def test_provider_passes_the_pairs_clean_image(small_world, tmp_path):
    cfg = PriorsConfig(backend="world", cache_dir=str(tmp_path / "masks"), num_masks=4,
                       world={"roots": [str(small_world / "pinhole")]})
    image, _, _ = first_pinhole(small_world)
    clean = read_image(image)
    provider = PriorProvider(cfg, source="lq")
    stack = provider.masks_for_pair(0, None, np.zeros_like(clean), clean)  # LQ all black: found by its GT
    np.testing.assert_array_equal(stack, PriorProvider(cfg, source="gt").masks_for_pair(0, None, clean, clean))


def test_two_equally_close_images_are_ambiguous(small_world):
    image, _, _ = first_pinhole(small_world)
    seg = WorldSegmenter(WorldSegmenterConfig(roots=[str(small_world / "pinhole")], min_margin=1.0))
    noisy = np.clip(read_image(image) + 0.01, 0, 1)
    with pytest.raises(NotAWorldImage, match="almost equally"):
        seg(noisy)
