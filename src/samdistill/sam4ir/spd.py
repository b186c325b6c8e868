"""SPD, Semantic Prior Distillation (paper eq. 4): smooth-L1 between I1 and stop-gradient(I2).

IR2 (the teacher that saw SAM's priors) only teaches: the gradient of this loss reaches IR1 alone.

Scale (`sam4ir.spd.pixel_scale`): on [0,1] images smooth-L1 with β = 1 is 0.5·d², and at
λ1 = 0.005 its gradient on IR1 is ~1e-4 of the L1 reconstruction's: eq. 4 does nothing. At 255
(the [0,255] range RCDNet trains in) it is L1-like beyond one gray level and λ1·255 ≈ 1.3 makes
it as strong as the reconstruction term, as Table 5's "+SPD" row (IR1 reaches IR2) needs.

Gate (`sam4ir.spd.gate`): `teacher_closer` distils only pixels where I2 is closer to the ground
truth than I1 (mean absolute error over channels). That stops IR1 from chasing IR2's corrections
where they are wrong (the ungated 255-scale cascade collapsed). Legitimate: the gate only shapes
training; nothing of it ships. The mean runs over all pixels, so gated-out pixels count as 0.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

GATES = ("none", "teacher_closer")


def teacher_closer(i1: torch.Tensor, i2: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """`(B, 1, H, W)` float {0,1}: 1 where |I2 - GT| < |I1 - GT| (channel-mean), no gradient."""
    with torch.no_grad():
        e1 = (i1 - gt).abs().mean(dim=1, keepdim=True)
        e2 = (i2 - gt).abs().mean(dim=1, keepdim=True)
        return (e2 < e1).to(i1.dtype)


def spd_loss(i1: torch.Tensor, i2: torch.Tensor, beta: float = 1.0, pixel_scale: float = 1.0,
             gate: str = "none", gt: Optional[torch.Tensor] = None, target: str = "teacher") -> torch.Tensor:
    """Mean smooth-L1 (Huber, transition at `beta`) of I1 - stopgrad(I2), on images scaled by
    `pixel_scale` (1: [0,1] intensities; 255: [0,255]); `gate` (needs `gt`): see the module doc.
    `target: gt` (a control, needs `gt`): the same gated pixels pull I1 towards GT instead of I2."""
    if gate not in GATES:
        raise ValueError(f"sam4ir.spd.gate must be one of {', '.join(GATES)}, got {gate!r}")
    if target not in ("teacher", "gt") or (target == "gt" and gt is None):
        raise ValueError(f"sam4ir.spd.target must be teacher or gt (gt needs the ground truth), got {target!r}")
    goal = gt if target == "gt" else i2.detach()
    per_pixel = F.smooth_l1_loss(i1 * pixel_scale, goal * pixel_scale, beta=beta, reduction="none")
    if gate == "none":
        return per_pixel.mean()
    if gt is None:
        raise ValueError("sam4ir.spd.gate: teacher_closer needs the ground truth")
    return (per_pixel * teacher_closer(i1, i2.detach(), gt)).mean()
