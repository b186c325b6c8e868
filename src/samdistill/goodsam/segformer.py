"""GoodSAM's TA and student are SegFormers; the network lives in `samdistill.models.segformer` beside
the other architectures. This module re-exports it (the same objects) so existing imports keep working."""
from __future__ import annotations

from samdistill.models.segformer import (  # noqa: F401 (re-exported)
    IMAGENET_MEAN,
    IMAGENET_STD,
    SEGFORMER_SIZES,
    SegmentationNet,
    build_segformer,
    load_segformer,
    segformer_config,
)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "SEGFORMER_SIZES", "SegmentationNet", "build_segformer",
           "load_segformer", "segformer_config"]
