"""Overlay rendering: shape/dtype, fills blended in distinct colors, white outlines."""
import numpy as np
from PIL import Image

from samdistill.priors.maskset import MaskSet
from samdistill.priors.overlay import palette, render_overlay, save_overlay


def _scene():
    img = np.full((10, 12, 3), 0.2, np.float32)
    big = np.zeros((10, 12), bool)
    big[:, :6] = True
    small = np.zeros((10, 12), bool)
    small[6:10, 8:12] = True
    return img, MaskSet(np.stack([small, big]))


def test_overlay_fills_outlines_and_untouched_background():
    img, ms = _scene()
    out = render_overlay(img, ms, alpha=0.5)
    assert out.shape == (10, 12, 3) and out.dtype == np.uint8
    colors = palette(2)  # area order: big first, small second
    np.testing.assert_array_equal(out[2, 2], np.rint((0.5 * 0.2 + 0.5 * colors[0]) * 255))
    np.testing.assert_array_equal(out[8, 10], np.rint((0.5 * 0.2 + 0.5 * colors[1]) * 255))
    assert (out[2, 5] == 255).all() and (out[2, 6] == 255).all()  # both sides of big's edge
    assert not (out[2, 2] == 255).all()  # fill differs from outline
    np.testing.assert_array_equal(out[1, 8], [51, 51, 51])  # not covered: the image itself
    assert not np.array_equal(out[2, 2], out[8, 10])  # distinct colors per mask


def test_overlay_is_deterministic_and_saves_a_png(tmp_path):
    img, ms = _scene()
    assert np.array_equal(render_overlay(img, ms), render_overlay(img, ms))
    path = save_overlay(tmp_path / "sub" / "o.png", img, ms)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), render_overlay(img, ms))


def test_palette_colors_are_distinct():
    colors = palette(16)
    assert len({tuple(np.round(c, 3)) for c in colors}) == 16
