"""SAM 3 backend of the semantic priors: a local Hugging Face `Sam3Model` folder prompted with class
names (concepts); each mask carries its class id and score. Pre/post-processing on plain torch."""
from __future__ import annotations

from samdistill.priors.sam3.loading import Sam3Info, inspect_sam3, load_sam3
from samdistill.priors.sam3.segmenter import Sam3Segmenter

__all__ = ["Sam3Info", "Sam3Segmenter", "inspect_sam3", "load_sam3"]
