"""The HTML report's zoomed detail is where the two restorations differ most."""
from __future__ import annotations

import numpy as np

from samdistill.compare.html import detail_box


def test_detail_box_finds_the_square_where_b_gains_or_loses() -> None:
    err_a, err_b = np.zeros((40, 60)), np.zeros((40, 60))
    err_a[10:18, 30:38] = 1.0   # A is wrong here: B gains
    err_b[25:33, 5:13] = 1.0    # B is wrong here: B loses
    assert detail_box(err_a, err_b, 8, b_gains=True) == (10, 30, 8)
    assert detail_box(err_a, err_b, 8, b_gains=False) == (25, 5, 8)
    assert detail_box(err_a, err_b, 100, b_gains=True)[2] == 40  # never larger than the image
