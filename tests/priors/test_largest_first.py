"""`priors.maskset.largest_first`: the one "N largest masks by area" rule (stable: ties keep their
stored order) that the encoding, the cache, the crop selection and GoodSAM's windows all use."""
import numpy as np

from samdistill.goodsam.data import top_order
from samdistill.priors.maskset import MaskSet, largest_first


def test_largest_first_is_stable_truncates_and_leaves_out_what_keep_rules_out():
    area = np.array([3, 0, 5, 3, 7, 0])
    assert largest_first(area).tolist() == [4, 2, 0, 3, 1, 5]
    assert largest_first(area, 3).tolist() == [4, 2, 0]
    assert largest_first(area, 10, keep=area > 0).tolist() == [4, 2, 0, 3]
    assert largest_first(area, 2, keep=(area > 0) & (area < 7)).tolist() == [2, 0]
    assert largest_first(np.zeros(0, np.int64), 4).tolist() == []


def test_unsigned_areas_sort_as_numbers():
    assert largest_first(np.array([1, 0, 2], np.uint64)).tolist() == [2, 0, 1]


def test_maskset_and_goodsam_use_the_same_order():
    masks = np.zeros((4, 4, 4), bool)
    masks[0, :1], masks[2, :3], masks[3, :1] = True, True, True  # areas 4, 0, 12, 4
    ms = MaskSet(masks)
    assert np.array_equal(ms.sorted_by_area().masks, masks[[2, 0, 3, 1]])
    assert top_order(masks, 3) == [2, 0, 3]  # GoodSAM leaves empty masks out
    assert top_order(masks.astype(np.uint8), 5) == [2, 0, 3]
