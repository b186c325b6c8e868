"""GoodSAM's 360° sliding windows: the geometry (starts, overlaps, extraction, stitching, `WindowGrid`)
lives in `samdistill.data.pano_windows`, below both GoodSAM and `inference.segment`; this module
re-exports it (the same objects) beside `WindowConfig`, the `goodsam.windows` config section."""
from __future__ import annotations

from samdistill.data.pano_windows import (  # noqa: F401 (re-exported)
    Overlap,
    Overlap2D,
    WindowGrid,
    extract_windows,
    extract_windows_2d,
    grid_windows,
    overlaps,
    overlaps_2d,
    stitch,
    stitch_2d,
    window_columns,
    window_starts,
)
from samdistill.goodsam.config import WindowConfig  # noqa: F401 (re-exported)
