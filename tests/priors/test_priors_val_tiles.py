"""Issue 21, item 1: validation sees the masks training sees.

Training ranks the N largest masks inside each crop (`priors.select: crop`); validation runs on
the full image. With `priors.val_select: tiles` the full image is cut into tiles of the training
crop size and each tile gets the masks a training crop at that place would get."""
import numpy as np
import pytest
from PIL import Image

from samdistill.config.loader import config_from_dict
from samdistill.data.config import DatasetConfig
from samdistill.data.loader import ValidationPairs
from samdistill.priors.config import PriorsConfig
from samdistill.priors.maskset import MaskSet
from samdistill.priors.provider import PriorProvider
from samdistill.priors.selection import PackedCandidates, select_in_tiles, select_in_window, tile_windows

H, W, TILE, N = 48, 80, 32, 2


def _box(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


# Two big masks cover the left part of the image; small ones lie in the right part. The whole
# image's 2 largest are the big ones, empty in the right tiles; per tile the small ones are chosen.
MASKS = [_box(0, 48, 0, 30), _box(0, 30, 0, 40), _box(4, 12, 50, 60), _box(20, 28, 66, 78),
         _box(36, 46, 52, 70), _box(40, 44, 34, 38)]


class FixedSegmenter:
    def __call__(self, image):
        return MaskSet(np.stack(MASKS))

    def fingerprint(self):
        return {"backend": "fixed"}


def _provider(val_select="tiles", tile=TILE, select="crop"):
    cfg = PriorsConfig(num_masks=N, select=select, val_select=val_select)
    return PriorProvider(cfg, segmenter=FixedSegmenter(), source="lq", cache=False, tile_size=tile)


def _pair_folder(tmp_path):
    for folder in ("input", "target"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / folder / "0.png")
    return DatasetConfig(layout="restormer", root=str(tmp_path))


def test_tiles_cover_the_image_once_and_are_training_crops():
    for h, w, t in [(48, 80, 32), (64, 64, 32), (20, 70, 32), (33, 33, 32)]:
        owner = np.zeros((h, w), int)
        for window, (rows, cols) in tile_windows(h, w, t):
            assert window.height == min(t, h) and window.width == min(t, w)  # the size of a training crop
            assert window.top + window.height <= h and window.left + window.width <= w
            owner[window.top + rows.start:window.top + rows.stop, window.left + cols.start:window.left + cols.stop] += 1
        assert (owner == 1).all()


def test_validation_masks_are_those_of_a_training_crop_at_each_tile(tmp_path):
    provider = _provider()
    img = np.zeros((H, W, 3), np.float32)
    full = provider.masks_for_pair(0, None, img, img)  # what a full-image validation item gets
    assert full.shape == (N, H, W)
    for window, (rows, cols) in tile_windows(H, W, TILE):
        train_crop = provider.masks_for_pair(0, None, img, img, window=window)
        got = full[:, window.top:window.top + window.height, window.left:window.left + window.width]
        np.testing.assert_array_equal(got[:, rows, cols], train_crop[:, rows, cols])
    # the old whole-image choice differs: its 2 largest masks are empty in the right part
    whole = _provider(val_select="image").masks_for_pair(0, None, img, img)
    assert not whole[:, :, 48:].any() and full[:, :, 48:].any()
    # and the validation dataset carries exactly these masks
    ds = ValidationPairs(_pair_folder(tmp_path), prior_provider=provider)
    np.testing.assert_array_equal(ds[0]["masks"].numpy(), full)


def test_select_in_tiles_matches_select_in_window_per_tile():
    cands = PackedCandidates(MaskSet(np.stack(MASKS)), 0)
    out = select_in_tiles(cands, TILE, N)
    for window, (rows, cols) in tile_windows(H, W, TILE):
        ref = select_in_window(cands, window, N)
        got = out[:, window.top:window.top + window.height, window.left:window.left + window.width]
        np.testing.assert_array_equal(got[:, rows, cols], ref[:, rows, cols])


def test_without_a_tile_size_or_with_select_image_the_whole_image_is_ranked():
    img = np.zeros((H, W, 3), np.float32)
    no_tile = _provider(tile=None).masks_for_pair(0, None, img, img)
    np.testing.assert_array_equal(no_tile, select_in_window(PackedCandidates(MaskSet(np.stack(MASKS)), 64), None, N))
    # select: image trains on the whole image's N largest (cropped), so validation keeps them too
    image_sel = _provider(select="image").masks_for_pair(0, None, img, img)
    assert not image_sel[:, :, 48:].any()


def test_experiment_provider_tiles_at_the_training_crop_size():
    from samdistill.sam4ir.priors import build_prior_provider

    cfg = config_from_dict({"sam4ir": {"enabled": True, "prior_source": "lq"}, "data": {"crop_size": 48}}, "t")
    assert build_prior_provider(cfg).tile_size == 48
    cfg = config_from_dict({"sam4ir": {"enabled": True, "prior_source": "lq"}, "data": {"crop_size": 48},
                            "priors": {"val_select": "image"}}, "t")
    assert build_prior_provider(cfg).tile_size is None
    with pytest.raises(Exception, match="val_select"):
        PriorsConfig(val_select="crop")
