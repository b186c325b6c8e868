"""SAM backend of the semantic priors: loading (HF directory or official .pth), the automatic
mask generator on plain torch, and `SamSegmenter` (the segmenter contract)."""
from __future__ import annotations

from samdistill.priors.sam.amg import MaskGenerator
from samdistill.priors.sam.loading import SamInfo, inspect_sam, load_sam
from samdistill.priors.sam.predictor import SamPredictor
from samdistill.priors.sam.segmenter import SamSegmenter

__all__ = ["MaskGenerator", "SamInfo", "SamPredictor", "SamSegmenter", "inspect_sam", "load_sam"]
