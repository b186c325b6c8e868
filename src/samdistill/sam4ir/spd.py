"""SPD, Semantic Prior Distillation (paper eq. 4): smooth-L1 between I1 and stop-gradient(I2).

IR2 (the teacher that saw SAM's priors) only teaches: the gradient of this loss reaches IR1 alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def spd_loss(i1: torch.Tensor, i2: torch.Tensor, beta: float = 1.0, pixel_scale: float = 1.0) -> torch.Tensor:
    """Mean smooth-L1 (Huber, transition at `beta`) of I1 - stopgrad(I2), on images scaled by
    `pixel_scale` (1: [0,1] intensities; 255: the [0,255] range some restoration codebases train in)."""
    return F.smooth_l1_loss(i1 * pixel_scale, i2.detach() * pixel_scale, beta=beta, reduction="mean")
