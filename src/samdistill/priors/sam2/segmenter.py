"""`Sam2Segmenter`: SAM 2 / 2.1 behind the project's segmenter contract, with our automatic mask
generator (`priors.sam.amg`) at SAM 2's published defaults (`priors.sam2.amg_preset: sam2`).

`fingerprint()`: backend `sam2`, variant, input size, sha256 of config.json and every weight
file (of an official .pt: the file and its side-car .json, if any), dtype, multimask output and every AMG parameter. The model loads on first use.
"""
from __future__ import annotations

from typing import Any


from samdistill.priors.config import SAM2Config
from samdistill.priors.sam.amg import MaskGenerator
from samdistill.priors.sam.segmenter import SamSegmenter, checkpoint_settings, file_sha256
from samdistill.priors.sam2.loading import Sam2Info, inspect_sam2, load_sam2
from samdistill.priors.sam2.predictor import Sam2Predictor

class Sam2Segmenter(SamSegmenter):
    def __init__(self, sam2_cfg: SAM2Config):
        self.cfg = sam2_cfg
        self.path, self.device, self.dtype = checkpoint_settings(
            sam2_cfg, "priors.sam2", "no SAM 2 checkpoint configured (a local Hugging Face Sam2Model folder or an official "
            "sam2.1_hiera_*.pt file)")
        self._info: Sam2Info | None = None
        self._generator: MaskGenerator | None = None

    @property
    def info(self) -> Sam2Info:
        if self._info is None:
            self._info = inspect_sam2(self.path)
        return self._info

    @property
    def generator(self) -> MaskGenerator:
        if self._generator is None:
            model, self._info = load_sam2(self.path, device=self.device)
            predictor = Sam2Predictor(model, self.dtype, multimask_output=self.cfg.multimask_output)
            self._generator = MaskGenerator(predictor, self.cfg.amg)
        return self._generator

    def fingerprint(self) -> dict[str, Any]:
        info = self.info
        return {
            "backend": "sam2",
            "model_type": info.model_type,
            "variant": info.variant,
            "image_size": info.image_size,
            "checkpoint_sha256": {str(f.relative_to(info.path) if info.source == "hf" else f.name): file_sha256(f)
                                  for f in info.files},
            "dtype": self.cfg.dtype,
            "multimask_output": self.cfg.multimask_output,
            "amg": self.cfg.amg.model_dump(),
        }
