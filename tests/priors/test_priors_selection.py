"""Issue 10, defect 6: masks are ranked inside the training crop, and the order-free encodings
do not depend on the order of the mask list."""
import numpy as np
import pytest
import torch
from PIL import Image

from samdistill.data.config import AugmentConfig, DatasetConfig
from samdistill.data.paired import PairedImageDataset
from samdistill.priors.config import PriorsConfig
from samdistill.priors.encodings import ORDER_FREE, encode, encoded_channels
from samdistill.priors.maskset import MaskSet
from samdistill.priors.provider import PriorProvider
from samdistill.priors.selection import PackedCandidates, Window, select_in_window

H = W = 64
WINDOW = Window(36, 36, 24, 24)  # rows/cols 36..59


def _box(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def _masks():
    """Large masks in the left/top half (outside WINDOW), small ones inside it."""
    big = [_box(0, 64, 0, 32), _box(0, 32, 0, 64), _box(0, 20, 0, 20)]
    small = [_box(40, 48, 40, 56), _box(50, 60, 44, 52), _box(37, 39, 37, 39)]
    return big + small, small


class FixedSegmenter:
    def __init__(self, masks):
        self.masks = np.stack(masks)

    def __call__(self, image):
        return MaskSet(self.masks.copy())

    def fingerprint(self):
        return {"backend": "fixed", "n": len(self.masks)}


def _provider(select, masks, n=2, **kw):
    cfg = PriorsConfig(num_masks=n, select=select, **kw)
    return PriorProvider(cfg, segmenter=FixedSegmenter(masks), source="lq", cache=False)


def test_crop_channels_are_the_largest_masks_inside_the_crop():
    masks, small = _masks()
    img = np.zeros((H, W, 3), np.float32)
    t, l, h, w = WINDOW
    out = _provider("crop", masks).masks_for_pair(0, None, img, img, window=WINDOW)
    expected = np.stack([small[0], small[1]])[:, t:t + h, l:l + w].astype(np.float32)
    np.testing.assert_array_equal(out, expected)
    # the old choice (before the crop): both channels are the big masks, empty inside the crop
    old = _provider("image", masks).masks_for_pair(0, None, img, img)[:, t:t + h, l:l + w]
    assert not old.any()


def test_full_cover_masks_are_dropped_unless_asked_and_candidates_limit_the_choice():
    masks, small = _masks()
    full = _box(30, 64, 30, 64)  # covers WINDOW entirely
    cands = PackedCandidates(MaskSet(np.stack(masks + [full])), 0)
    t, l, h, w = WINDOW
    dropped = select_in_window(cands, WINDOW, 1)
    np.testing.assert_array_equal(dropped[0], small[0][t:t + h, l:l + w])
    kept = select_in_window(cands, WINDOW, 1, drop_full=False)
    assert kept[0].all()
    few = select_in_window(PackedCandidates(MaskSet(np.stack(masks)), 3), WINDOW, 2)  # only the 3 big ones
    assert not few.any()


@pytest.mark.parametrize("left", [0, 3, 8, 13, 40])
def test_packed_crop_matches_plain_slicing_at_any_bit_offset(left):
    rng = np.random.default_rng(left)
    m = rng.random((5, H, W)) > 0.5
    cands = PackedCandidates(MaskSet(m), 0)
    order = np.argsort(-m.reshape(5, -1).sum(1), kind="stable")
    np.testing.assert_array_equal(cands.crop(Window(5, left, 17, 19)), m[order][:, 5:22, left:left + 19])
    with pytest.raises(ValueError, match="outside"):
        cands.crop(Window(50, left, 17, 19))


def test_dataset_passes_its_crop_window(tmp_path):
    masks, small = _masks()
    for folder in ("input", "target"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / folder / "0.png")
    cfg = DatasetConfig(layout="restormer", root=str(tmp_path))
    aug = AugmentConfig(hflip=True, vflip=True, rot90=True)
    for seed in range(4):
        ds = PairedImageDataset(cfg, crop_size=24, augment=aug, prior_provider=_provider("crop", masks, n=6), seed=seed)
        item = ds[0]
        params = ds.transform.sample(np.random.default_rng([seed, 0, 0]), H, W)
        window = Window(params.top, params.left, 24, 24)
        inside = [m for m in masks if 0 < m[window.top:window.top + 24, window.left:window.left + 24].sum() < 576]
        assert item["masks"].shape == (6, 24, 24)
        assert int((item["masks"].flatten(1).sum(1) > 0).sum()) == len(inside)  # no empty channel before padding


def _stack_and_image(seed=0):
    masks, _ = _masks()
    stack = torch.from_numpy(np.stack(masks).astype(np.float32))[None]
    image = torch.from_numpy(np.random.default_rng(seed).random((1, 3, H, W)).astype(np.float32))
    return stack, image


@pytest.mark.parametrize("kind", ORDER_FREE)
def test_order_free_encodings_ignore_the_mask_order(kind):
    stack, image = _stack_and_image()
    ref = encode(stack, kind, image=image)
    assert ref.shape == (1, encoded_channels(kind, stack.shape[1]), H, W)
    for seed in range(3):
        perm = torch.from_numpy(np.random.default_rng(seed).permutation(stack.shape[1]))
        torch.testing.assert_close(encode(stack[:, perm], kind, image=image), ref)
    # while the order-dependent ones do change (so the check above could fail)
    perm = torch.arange(stack.shape[1]).flip(0)
    assert not torch.equal(encode(stack[:, perm], "label"), encode(stack, "label"))


def test_region_mean_paints_each_region_with_its_mean_color_and_zero_outside():
    s = torch.zeros(2, 2, 4, 4)
    s[:, 0, :, :2] = 1  # left half
    s[:, 1, :2, :] = 1  # top half: regions = TL, TR, BL; BR uncovered
    img = torch.arange(2 * 3 * 16, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = encode(s, "region_mean", image=img)
    for b in range(2):
        for (ys, xs) in [((0, 2), (0, 2)), ((0, 2), (2, 4)), ((2, 4), (0, 2))]:
            mean = img[b, :, ys[0]:ys[1], xs[0]:xs[1]].mean(dim=(1, 2))
            torch.testing.assert_close(out[b, :, ys[0]:ys[1], xs[0]:xs[1]], mean[:, None, None].expand(3, 2, 2))
        assert not out[b, :, 2:, 2:].any()
    with pytest.raises(ValueError, match="needs the image"):
        encode(s, "region_mean")


def test_region_label_ranks_regions_by_area_per_image():
    s = torch.zeros(2, 2, 4, 4)
    s[0, 0, :, :3] = 1  # 12 px
    s[0, 1, 0, 3] = 1  # 1 px; 3 px uncovered
    s[1, 0, :2, :] = 1  # 8 px, other image: ranks restart
    out = encode(s, "region_label")
    assert out.shape == (2, 1, 4, 4)
    assert torch.all(out[0, 0, :, :3] == 0.5) and out[0, 0, 0, 3] == 1.0 and torch.all(out[0, 0, 1:, 3] == 0)
    assert torch.all(out[1, 0, :2] == 1.0) and not out[1, 0, 2:].any()
