"""Small-scale information test: handed the clean image as its prior, IR2 must use it.

The full-size diagnostic is benchmarks/method_studies/sam4ir_information.py (issue 10: >= 3 dB in 400 steps).
Here a 1-level NAFNet denoises scenes of 2x2-pixel patches: noise this strong cannot be removed
from LQ alone, so a fusion that carries the prior ends far below the no-prior loss. Measured
over seeds 0-2: injected 0.50-0.60x, chain 0.64-0.80x; the same units given a zero prior stay
at 0.99-1.00x, so the test fails when the prior does not reach IR2.
"""
from functools import lru_cache

import pytest
import torch
import torch.nn.functional as F

from samdistill.engine.config import LossConfig
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import SAM4IRMethod

P = 2  # patch size of the clean scenes
NET = {"width": 8, "enc_blk_nums": [1], "middle_blk_num": 1, "dec_blk_nums": [1]}


def _pairs(g: torch.Generator, n: int = 4, size: int = 32):
    gt = F.interpolate(torch.rand(n, 3, size // P, size // P, generator=g), scale_factor=P)
    return (gt + 0.25 * torch.randn(gt.shape, generator=g)).clamp(0, 1), gt


@lru_cache(maxsize=None)
def _final_loss(prior: str, fusion: str = "injected", steps: int = 100) -> float:
    """Mean IR2 loss of the last 10 steps; prior: "none" (plain backbone), "clean" or "zero" (SPF, no information)."""
    with_prior = prior != "none"
    torch.manual_seed(0)
    cfg = SAM4IRConfig.model_validate({"enabled": True, "ir2_input": "lq", "spd": {"enabled": False},
                                       "sgr": {"enabled": False}, "spf": {"enabled": with_prior, "fusion": fusion}})
    m = SAM4IRMethod("nafnet", NET, cfg, LossConfig(), num_masks=3)
    params = list(m.ir2.parameters()) + (list(m.spf.parameters()) if m.spf is not None else [])
    opt = torch.optim.Adam(params, lr=1e-2)
    g = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        lq, gt = _pairs(g)
        _, loss = m.teacher(lq, lq, gt if prior == "clean" else torch.zeros_like(gt), gt)  # I1 := LQ
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return sum(losses[-10:]) / 10


@pytest.mark.parametrize("fusion,ratio", [("injected", 0.7), ("chain", 0.9)])
def test_spf_carries_a_clean_image_prior(fusion, ratio):
    none, clean = _final_loss("none"), _final_loss("clean", fusion)
    assert clean < ratio * none, f"IR2 loss with the clean image as prior {clean:.4f} vs without {none:.4f}"
