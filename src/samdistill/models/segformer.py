"""SegFormer as a registered network, so a trained segmenter ships through the same artifact code as
a restoration network: `create_backbone("segformer", size="b0", num_classes=19)`, or with the full
transformers config (`config={...}`) when it came from a pretrained folder."""
from __future__ import annotations

from typing import Any, Optional

from samdistill.models.registry import register_backbone


@register_backbone("segformer", task="segmentation", paper="SegFormer, NeurIPS'21 (GoodSAM's student and TA)")
def segformer(size: Optional[str] = "b0", num_classes: int = 19, config: Optional[dict[str, Any]] = None):
    """SegFormer segmenter: images in [0, 1] -> class logits at the input size (ImageNet-normalized inside)."""
    from transformers import SegformerConfig

    from samdistill.goodsam.segformer import SegmentationNet

    if config is not None:
        return SegmentationNet.build(SegformerConfig(**config), num_classes)
    return SegmentationNet.build(size, num_classes)
