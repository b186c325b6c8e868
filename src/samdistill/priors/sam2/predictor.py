"""SAM 2's image pre-processing, point-prompt decoding and logit upscaling, on plain torch.

Mirrors sam2's `SAM2ImagePredictor` + `SAM2Transforms` (no torchvision, no transformers image
processor):
- the 8-bit image (our float input rounded to 1/255 steps) is resized to the model's square input
  (1024 for the released models) *without* keeping the aspect ratio, bilinear with antialiasing,
  then normalized with ImageNet's mean / std on [0, 1];
- point prompts are normalized by the image's width / height and scaled to the square input;
- the decoder's low-res logits are resized straight to the image's size (bilinear, no padding to
  crop away); `Sam2Model.get_image_embeddings` already adds the no-memory embedding and
  projects the two high-resolution feature levels, as the image predictor does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from samdistill.priors.sam.predictor import ImageState, SamPredictor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocess_sam2(image: torch.Tensor, image_size: int) -> torch.Tensor:
    """(3, H, W) float RGB in [0, 1] -> (1, 3, S, S) normalized input."""
    x = (image[None].float() * 255.0).round().clamp(0, 255) / 255.0  # what an uint8 image gives
    if tuple(x.shape[-2:]) != (image_size, image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


class Sam2Predictor(SamPredictor):
    """Encodes images and decodes point prompts with a transformers `Sam2Model`."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype = torch.float32, multimask_output: bool = True):
        super().__init__(model, dtype)
        self.is_hq = False
        self.multimask_output = multimask_output

    @torch.inference_mode()
    def encode(self, image: torch.Tensor) -> ImageState:
        """`image`: (3, H, W) float in [0, 1] on the model's device."""
        pixels = preprocess_sam2(image, self.image_size)
        with self.autocast():
            levels = self.model.get_image_embeddings(pixels.to(self.model.dtype))
        size = (int(image.shape[1]), int(image.shape[2]))
        return ImageState(list(levels), None, (self.image_size, self.image_size), size)

    @torch.inference_mode()
    def decode_points(self, state: ImageState, points_xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2) XY points in original-image pixels -> ((B, M, L, L) logits, (B, M) predicted IoU),
        M = 3 (multimask output) or 1, float32."""
        oh, ow = state.original_size
        scale = torch.tensor([self.image_size / ow, self.image_size / oh], device=self.device, dtype=torch.float32)
        pts = (points_xy.to(self.device, torch.float32) * scale)[None, :, None, :]
        labels = torch.ones(pts.shape[:3], dtype=torch.int64, device=self.device)
        with self.autocast():
            out = self.model(image_embeddings=state.embeddings, input_points=pts, input_labels=labels,
                             multimask_output=self.multimask_output)
        return out.pred_masks[0].float(), out.iou_scores[0].float()

    def upscale(self, low_res: torch.Tensor, original_size: tuple[int, int]) -> torch.Tensor:
        """(K, L, L) decoder logits -> (K, H, W) logits at `original_size` (one bilinear resize)."""
        return F.interpolate(low_res[:, None].float(), size=tuple(original_size), mode="bilinear",
                             align_corners=False)[:, 0]
