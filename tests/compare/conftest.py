"""Two real evaluation runs of the same images: A (a slight darkening) and B (a 3x3 box blur, which
helps on the smooth noisy images and hurts on the checkerboard one)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from samdistill.inference.evaluate import evaluate_model
from samdistill.metrics.config import EvalConfig


class _Conv(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, weight.shape[-1], padding=weight.shape[-1] // 2, bias=False, padding_mode="replicate")
        with torch.no_grad():
            self.conv.weight.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def darken() -> nn.Module:
    return _Conv(torch.eye(3).view(3, 3, 1, 1) * 0.97)


def box_blur() -> nn.Module:
    w = torch.zeros(3, 3, 3, 3)
    for c in range(3):
        w[c, c] = 1.0 / 9.0
    return _Conv(w)


def write_pairs(root: Path, count: int = 6) -> list[tuple[Path, Path]]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    pairs = []
    for i in range(count):
        if i == count - 1:  # fine checkerboard: blurring it loses
            gt = np.repeat(((np.indices((48, 64)).sum(0) % 2) * 0.8 + 0.1)[..., None], 3, axis=-1)
        else:
            gt = np.stack([yy * (0.5 + 0.1 * i), xx, (xx + yy) / 2], axis=-1)
        lq = np.clip(gt + rng.normal(0, 0.08, gt.shape), 0, 1)
        paths = []
        for kind, img in (("lq", lq), ("gt", gt)):
            path = root / "data" / kind / f"img{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(img * 255).astype(np.uint8)).save(path)
            paths.append(path)
        pairs.append(tuple(paths))
    return pairs


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Run folders runs/A and runs/B, each with eval/metrics.json and the restored images."""
    pairs = write_pairs(tmp_path)
    folders = []
    for label, net in (("A", darken()), ("B", box_blur())):
        folder = tmp_path / "runs" / label
        evaluate_model(net, pairs, EvalConfig(save_images=True), save_dir=folder / "eval", progress=False,
                       meta={"dataset": {"label": "toy/test"}})
        folders.append(folder)
    return folders[0], folders[1]
