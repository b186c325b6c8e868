"""Let a backbone take any image size: check the batch, pad to a multiple, crop back."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def check_image_batch(x: torch.Tensor, channels: int, model_name: str) -> None:
    """Raise a clear error unless `x` is a (B, channels, H, W) tensor."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != channels:
        got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{model_name} expects an image batch (B, {channels}, H, W), got {got}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad H and W at the bottom/right up to the next multiple (as the reference NAFNet does).

    Padding is applied even when it is zero so a traced/exported graph stays valid for any size.
    """
    height, width = x.shape[-2:]
    return F.pad(x, (0, (-width) % multiple, 0, (-height) % multiple))


def crop_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return x[..., :height, :width]
