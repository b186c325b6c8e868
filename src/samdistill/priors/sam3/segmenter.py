"""`Sam3Segmenter`: SAM 3 prompted with class names (concepts) behind the segmenter contract.

Per image: one vision pass; per class name, one DETR + mask-decoder pass on the cached vision
features with that name's (cached) text features. As transformers' `Sam3ImageProcessor` /
`post_process_instance_segmentation`, on plain torch (no torchvision, no image processor):
- the 8-bit image (our float input rounded to 1/255 steps) is resized to the square input
  (1008 for the released model), bilinear with antialiasing, and normalized with mean = std = 0.5;
- an instance's score is sigmoid(class logit) x sigmoid(presence logit); instances scoring above
  `score_threshold` are kept; their sigmoid mask probabilities are resized (bilinear) to the image
  and binarized at `mask_threshold`; empty masks are dropped.
Each mask gets `class_id` (index into `priors.sam3.classes`) and `class_score`; predicted IoU and
stability are NaN (SAM 3's detector has neither). Masks of different classes may overlap.

`fingerprint()`: backend `sam3`, input size, sha256 of config.json, every weight and tokenizer
file, dtype, the class list and both thresholds. The model loads on first use.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from samdistill.priors.base import SegmenterBase
from samdistill.priors.config import SAM3Config
from samdistill.priors.maskset import MaskSet
from samdistill.priors.sam.segmenter import checkpoint_settings, file_sha256
from samdistill.priors.sam3.loading import TEXT_LENGTH, Sam3Info, inspect_sam3, load_sam3


def preprocess_sam3(image: torch.Tensor, image_size: int) -> torch.Tensor:
    """(3, H, W) float RGB in [0, 1] -> (1, 3, S, S) input normalized to [-1, 1]."""
    x = (image[None].float() * 255.0).round().clamp(0, 255) / 255.0  # what an uint8 image gives
    if tuple(x.shape[-2:]) != (image_size, image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    return ((x - 0.5) / 0.5).contiguous()


class Sam3Segmenter(SegmenterBase):
    def __init__(self, sam3_cfg: SAM3Config):
        self.cfg = sam3_cfg
        self.path, self.device, self.dtype = checkpoint_settings(
            sam3_cfg, "priors.sam3", "no SAM 3 checkpoint configured (a local Hugging Face Sam3Model folder "
            "with its tokenizer)")
        self._info: Sam3Info | None = None
        self._model: torch.nn.Module | None = None
        self._text: list[tuple[Any, torch.Tensor]] | None = None  # per class: (text features, attention mask)

    @property
    def info(self) -> Sam3Info:
        if self._info is None:
            self._info = inspect_sam3(self.path)
        return self._info

    def _load(self) -> torch.nn.Module:
        if self._model is None:
            model, tokenizer, self._info = load_sam3(self.path, device=self.device, dtype=self.dtype)
            tokens = tokenizer(list(self.cfg.classes), padding="max_length", max_length=TEXT_LENGTH,
                               truncation=True, return_tensors="pt")
            ids, attention = tokens["input_ids"].to(self.device), tokens["attention_mask"].to(self.device)
            with torch.inference_mode():
                self._text = [(model.get_text_features(input_ids=ids[i:i + 1], attention_mask=attention[i:i + 1]),
                               attention[i:i + 1]) for i in range(len(ids))]
            self._model = model
        return self._model

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> MaskSet:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(f"Sam3Segmenter expects an (H, W, 3) RGB image, got shape {image.shape}")
        model = self._load()
        height, width = image.shape[:2]
        pixels = torch.from_numpy(image.astype(np.float32, copy=False)).permute(2, 0, 1).to(self.device)
        vision = model.get_vision_features(pixel_values=preprocess_sam3(pixels, self.info.image_size).to(self.dtype))
        masks, scores, classes = [], [], []
        for class_id, (text, attention) in enumerate(self._text):
            out = model(vision_embeds=vision, text_embeds=text, attention_mask=attention)
            score = out.pred_logits[0].float().sigmoid()
            if out.presence_logits is not None:
                score = score * out.presence_logits[0].float().sigmoid()
            keep = score > self.cfg.score_threshold
            if not bool(keep.any()):
                continue
            probs = out.pred_masks[0][keep].float().sigmoid()
            binary = F.interpolate(probs[None], size=(height, width), mode="bilinear", align_corners=False)[0]
            binary = binary > self.cfg.mask_threshold
            nonempty = binary.flatten(1).any(1)
            masks.append(binary[nonempty].cpu())
            scores.append(score[keep][nonempty].cpu())
            classes.append(torch.full((int(nonempty.sum()),), class_id, dtype=torch.int64))
        if not masks:
            return MaskSet.empty(height, width)
        n = sum(len(m) for m in masks)
        nan = np.full(n, np.nan, np.float32)
        return MaskSet(torch.cat(masks).numpy(), nan, nan, torch.cat(classes).numpy(), torch.cat(scores).numpy())

    def fingerprint(self) -> dict[str, Any]:
        info = self.info
        return {
            "backend": "sam3",
            "model_type": info.model_type,
            "image_size": info.image_size,
            "checkpoint_sha256": {str(f.relative_to(info.path)): file_sha256(f) for f in info.files},
            "dtype": self.cfg.dtype,
            "classes": list(self.cfg.classes),
            "score_threshold": self.cfg.score_threshold,
            "mask_threshold": self.cfg.mask_threshold,
        }
