"""to_channels ordering/padding and the tensor encodings on hand-made masks with known answers."""
import numpy as np
import pytest
import torch

from samdistill.priors.encodings import boundary_map, encode, encoded_channels, to_channels
from samdistill.priors.maskset import MaskSet


def _mask(h, w, *cells):
    m = np.zeros((h, w), bool)
    for y, x in cells:
        m[y, x] = True
    return m


def test_to_channels_sorts_by_area_stably_truncates_and_pads():
    a2 = _mask(3, 4, (0, 0), (0, 1))
    a5a = _mask(3, 4, (1, 0), (1, 1), (1, 2), (1, 3), (2, 0))
    a5b = _mask(3, 4, (2, 1), (2, 2), (2, 3), (0, 2), (0, 3))
    a1 = _mask(3, 4, (2, 3))
    ms = MaskSet(np.stack([a2, a5a, a5b, a1]))
    out = to_channels(ms, 6)
    assert out.dtype == np.float32 and out.shape == (6, 3, 4)
    expected = np.stack([a5a, a5b, a2, a1, np.zeros((3, 4)), np.zeros((3, 4))]).astype(np.float32)
    np.testing.assert_array_equal(out, expected)  # ties (area 5) keep their original order
    np.testing.assert_array_equal(to_channels(ms, 2), expected[:2])


def test_to_channels_of_empty_maskset_is_all_zero():
    out = to_channels(MaskSet.empty(2, 3), 4)
    assert out.shape == (4, 2, 3) and not out.any()


def _hand_stack():
    # (1, 4, 4, 4): mask0 = columns 0-2 (12 px), mask1 = top-left 2x2, mask2 = pixel (3, 3),
    # mask3 = padding.
    s = torch.zeros(1, 4, 4, 4)
    s[0, 0, :, :3] = 1
    s[0, 1, :2, :2] = 1
    s[0, 2, 3, 3] = 1
    return s


def test_label_paints_smaller_later_masks_on_top():
    expected = torch.tensor([[2, 2, 1, 0], [2, 2, 1, 0], [1, 1, 1, 0], [1, 1, 1, 3]], dtype=torch.float32)
    out = encode(_hand_stack(), "label")
    assert out.shape == (1, 1, 4, 4)
    assert torch.equal(out[0, 0], expected)


def test_gray_levels_are_index_plus_one_over_n():
    out = encode(_hand_stack(), "gray")
    expected = torch.tensor([[0.5, 0.5, 0.25, 0], [0.5, 0.5, 0.25, 0], [0.25] * 3 + [0], [0.25] * 3 + [0.75]])
    assert torch.allclose(out[0, 0], expected)


def test_boundary_of_a_square_marks_both_sides_of_its_edge():
    s = torch.zeros(1, 1, 4, 4)
    s[0, 0, 1:3, 1:3] = 1
    expected = torch.ones(4, 4)
    for y, x in [(0, 0), (0, 3), (3, 0), (3, 3)]:
        expected[y, x] = 0  # corners only touch the square diagonally
    assert torch.equal(encode(s, "boundary")[0, 0], expected)


def test_boundary_ignores_the_image_border_and_matches_numpy():
    full = torch.ones(1, 2, 5, 6)
    assert not encode(full, "boundary").any()
    rng = np.random.default_rng(0)
    masks = rng.random((3, 7, 9)) < 0.4
    torch_edges = encode(torch.from_numpy(masks[None].astype(np.float32)), "boundary")[0, 0].numpy()
    np.testing.assert_array_equal(torch_edges.astype(bool), boundary_map(MaskSet(masks)))


def test_channels_passthrough_and_channel_counts():
    s = _hand_stack()
    assert encode(s, "channels") is s
    assert [encoded_channels(k, 16) for k in ("channels", "gray", "label", "boundary")] == [16, 1, 1, 1]
    with pytest.raises(ValueError, match="unknown mask encoding 'rgb'"):
        encode(s, "rgb")
