"""SAM 2 / 2.1 backend of the semantic priors: a local Hugging Face `Sam2Model` folder, SAM 2's
pre-processing on plain torch, driven by the automatic mask generator of `priors.sam.amg`."""
from __future__ import annotations

from samdistill.priors.sam2.loading import Sam2Info, inspect_sam2, load_sam2
from samdistill.priors.sam2.predictor import Sam2Predictor
from samdistill.priors.sam2.segmenter import Sam2Segmenter

__all__ = ["Sam2Info", "Sam2Predictor", "Sam2Segmenter", "inspect_sam2", "load_sam2"]
