import numpy as np
import pytest

from samdistill.data.errors import DataError
from samdistill.data.transforms import PairedTransform, TransformParams


def manual(img_hwc, p: TransformParams):
    """Reference: crop, flip left-right, flip up-down, rotate k*90 CCW, written independently."""
    out = img_hwc[p.top:p.top + p.size, p.left:p.left + p.size] if p.size else img_hwc
    if p.hflip:
        out = out[:, ::-1]
    if p.vflip:
        out = out[::-1]
    for _ in range(p.k_rot):
        out = out.transpose(1, 0, 2)[::-1]  # one CCW quarter turn
    return out


@pytest.mark.parametrize("seed", range(8))
def test_image_and_mask_stack_get_identical_transform(seed):
    rng = np.random.default_rng(100 + seed)
    img = rng.random((12, 15, 3)).astype(np.float32)
    masks = (rng.random((4, 12, 15)) > 0.5).astype(np.float32)
    t = PairedTransform(crop_size=6, hflip=True, vflip=True, rot90=True)
    params = t.sample(np.random.default_rng(seed), 12, 15)
    out_img = t.apply(params, img)
    out_masks = t.apply(params, masks, channels_first=True)
    np.testing.assert_array_equal(out_img, manual(img, params))
    np.testing.assert_array_equal(out_masks, manual(masks.transpose(1, 2, 0), params).transpose(2, 0, 1))
    assert out_img.flags["C_CONTIGUOUS"] and out_masks.shape == (4, 6, 6)


def test_sampling_covers_all_options_and_is_deterministic():
    t = PairedTransform(crop_size=4, hflip=True, vflip=True, rot90=True)
    draws = [t.sample(np.random.default_rng(s), 10, 10) for s in range(64)]
    assert {d.k_rot for d in draws} == {0, 1, 2, 3}
    assert {d.hflip for d in draws} == {True, False} and {d.vflip for d in draws} == {True, False}
    assert all(0 <= d.top <= 6 and 0 <= d.left <= 6 for d in draws)
    assert draws[5] == t.sample(np.random.default_rng(5), 10, 10)


def test_disabled_flags_never_flip_and_no_crop_keeps_size():
    t = PairedTransform()
    params = t.sample(np.random.default_rng(0), 7, 9)
    assert params == TransformParams(top=0, left=0, size=None, hflip=False, vflip=False, k_rot=0)
    img = np.random.default_rng(1).random((7, 9, 3))
    np.testing.assert_array_equal(t.apply(params, img), img)


def test_crop_larger_than_image_is_a_clear_error():
    with pytest.raises(DataError, match=r"image is 20x10 \(WxH\), smaller than crop_size 16"):
        PairedTransform(crop_size=16).sample(np.random.default_rng(0), 10, 20)


def test_known_crop_position():
    img = np.arange(5 * 5).reshape(5, 5, 1)
    params = TransformParams(top=1, left=2, size=2, hflip=False, vflip=False, k_rot=0)
    np.testing.assert_array_equal(PairedTransform.apply(params, img)[:, :, 0], [[7, 8], [12, 13]])
