"""SAM's image preprocessing, prompt decoding and logit upscaling, on plain torch.

Mirrors segment-anything's `SamPredictor` + `Sam.preprocess/postprocess_masks`:
- ResizeLongestSide: scale so the long side is the model's input size (1024 for the released
  models; any configured size here), rounding each side with int(x * s + 0.5);
- normalize 0-255 RGB with SAM's pixel mean / std, zero-pad bottom-right to a square;
- point prompts are mapped into the resized frame; the decoder's low-res logits are upscaled
  bilinearly to the input size, the padding cropped, then resized to the original size.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def preprocess_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    scale = long_side / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def preprocess(image: torch.Tensor, image_size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(3, H, W) float RGB in [0, 1] -> ((1, 3, S, S) normalized padded input, resized (h, w)).

    Resized like SAM's uint8 pipeline: bilinear with antialiasing, rounded to 0..255.
    """
    h, w = preprocess_shape(image.shape[1], image.shape[2], image_size)
    x = image[None].float() * 255.0
    if (h, w) != tuple(image.shape[1:]):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    x = x.round().clamp(0, 255)
    mean = torch.tensor(PIXEL_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    # crops and HWC sources arrive as strided views; hand the ViT a plain NCHW tensor
    return F.pad(x, (0, image_size - w, 0, image_size - h)).contiguous(), (h, w)


def upscale_logits(low_res: torch.Tensor, image_size: int, input_size: tuple[int, int],
                   original_size: tuple[int, int]) -> torch.Tensor:
    """(K, L, L) decoder logits -> (K, H, W) logits at the original size, exactly as SAM does
    (upscale L -> image_size, crop to `input_size`, resize to `original_size`), but only the
    low-res rows/columns that the crop can reach are upscaled (one extra for interpolation)."""
    k, lh, lw = low_res.shape
    if image_size % lh or image_size % lw:
        return upscale_logits_reference(low_res, image_size, input_size, original_size)
    fy, fx = image_size // lh, image_size // lw
    need_h = min(lh, -(-input_size[0] // fy) + 1)
    need_w = min(lw, -(-input_size[1] // fx) + 1)
    x = low_res[:, None, :need_h, :need_w].float()
    x = F.interpolate(x, size=(need_h * fy, need_w * fx), mode="bilinear", align_corners=False)
    x = x[..., : input_size[0], : input_size[1]]
    if tuple(input_size) != tuple(original_size):
        x = F.interpolate(x, size=tuple(original_size), mode="bilinear", align_corners=False)
    return x[:, 0]


def upscale_logits_reference(low_res: torch.Tensor, image_size: int, input_size: tuple[int, int],
                             original_size: tuple[int, int]) -> torch.Tensor:
    """Literal SAM postprocess_masks (full upscale, then crop); used to test `upscale_logits`."""
    x = F.interpolate(low_res[:, None].float(), size=(image_size, image_size), mode="bilinear",
                      align_corners=False)
    x = x[..., : input_size[0], : input_size[1]]
    return F.interpolate(x, size=tuple(original_size), mode="bilinear", align_corners=False)[:, 0]


@dataclass
class ImageState:
    """One image (or crop) encoded once, decoded for many prompts."""

    embeddings: Any  # a tensor (SAM) or the list of feature levels (SAM 2)
    intermediate: list[torch.Tensor] | None  # SAM-HQ's early ViT features
    input_size: tuple[int, int]  # resized size inside the padded square
    original_size: tuple[int, int]


class SamPredictor:
    """Encodes images and decodes point prompts with a transformers SamModel / SamHQModel."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype = torch.float32):
        self.model = model
        self.device = next(model.parameters()).device
        self.dtype = dtype
        self.image_size = int(model.config.prompt_encoder_config.image_size)
        self.is_hq = type(model).__name__.startswith("SamHQ")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def to_tensor(self, image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) float [0, 1] array -> (3, H, W) float32 tensor on the model's device."""
        chw = np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1))
        return torch.from_numpy(chw).to(self.device)

    @torch.inference_mode()
    def encode(self, image: torch.Tensor) -> ImageState:
        """`image`: (3, H, W) float in [0, 1] on the model's device."""
        pixels, input_size = preprocess(image, self.image_size)
        with self.autocast():
            out = self.model.get_image_embeddings(pixels.to(self.model.dtype))
        emb, inter = (out[0], list(out[1])) if isinstance(out, tuple) else (out, None)
        return ImageState(emb, inter, input_size, (int(image.shape[1]), int(image.shape[2])))

    @torch.inference_mode()
    def decode_points(self, state: ImageState, points_xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2) XY points in original-image pixels -> ((B, M, L, L) logits, (B, M) predicted IoU),
        M = 3 masks per point (multimask output), float32."""
        oh, ow = state.original_size
        h, w = state.input_size
        scale = torch.tensor([w / ow, h / oh], device=self.device, dtype=torch.float32)
        pts = (points_xy.to(self.device, torch.float32) * scale)[None, :, None, :]
        labels = torch.ones(pts.shape[:3], dtype=torch.int64, device=self.device)
        extra = {"intermediate_embeddings": state.intermediate} if self.is_hq else {}
        with self.autocast():
            out = self.model(image_embeddings=state.embeddings, input_points=pts, input_labels=labels,
                             multimask_output=True, **extra)
        return out.pred_masks[0].float(), out.iou_scores[0].float()

    def upscale(self, low_res: torch.Tensor, original_size: tuple[int, int]) -> torch.Tensor:
        """(K, L, L) decoder logits of an image (or crop) of `original_size` -> (K, H, W) logits."""
        input_size = preprocess_shape(*original_size, self.image_size)
        return upscale_logits(low_res, self.image_size, input_size, original_size)
