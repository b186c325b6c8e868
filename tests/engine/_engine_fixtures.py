"""Tiny in-memory pieces for the engine tests: a registered conv backbone, paired datasets,
test methods and configs. Shared by the tests and the 2-process worker script."""
from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from samdistill.config.loader import config_from_dict
from samdistill.methods.base import Method, StepOutput
from samdistill.methods.plain import PlainRestoration
from samdistill.models.registry import _REGISTRY, create_backbone, register_backbone

TINY = "engine_test_tiny"


class TinyNet(nn.Module):
    pad_multiple = 1

    def __init__(self, width: int = 4):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.tail = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.tail(torch.relu(self.head(x)))


if TINY not in _REGISTRY:
    register_backbone(TINY)(TinyNet)


class PairDataset(Dataset):
    """Fixed random pairs; flips each sample on odd (index + epoch), like a per-epoch augmentation."""

    def __init__(self, n: int = 12, size: int = 16, seed: int = 123):
        g = torch.Generator().manual_seed(seed)
        self.gt = torch.rand(n, 3, size, size, generator=g)
        self.lq = (self.gt + 0.1 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.gt)

    def __getitem__(self, i: int) -> dict[str, Any]:
        lq, gt = self.lq[i], self.gt[i]
        if (i + self.epoch) % 2:
            lq, gt = lq.flip(-1), gt.flip(-1)
        return {"lq": lq, "gt": gt, "name": f"img{i}", "index": i}


def loaders(n_train: int = 12, n_val: int = 4, batch: int = 2) -> tuple[DataLoader, DataLoader]:
    train = DataLoader(PairDataset(n_train), batch_size=batch, shuffle=True, drop_last=True)
    val = DataLoader(PairDataset(n_val, seed=7), batch_size=2, shuffle=False)
    return train, val


class NoisyPlain(PlainRestoration):
    """Uses the global torch and python RNGs every step, and can simulate a crash at a step."""

    def __init__(self, crash_at: int | None = None):
        super().__init__(TINY, {"width": 4})
        self.crash_at = crash_at

    def on_step_start(self, step: int, trainer: Any) -> None:
        if step == self.crash_at:
            raise KeyboardInterrupt(f"simulated crash before step {step}")

    def forward(self, batch: dict) -> StepOutput:
        lq = batch["lq"] + 0.02 * random.random() * torch.randn_like(batch["lq"])
        _, loss = self.reconstruct(self.ir1, lq, batch["gt"])
        return StepOutput(loss, {"loss": float(loss.detach())})


class TwoNetMethod(Method):
    """IR1 (ships) + a trained IR2 + a frozen relation net, like SAM4IR's layout."""

    def __init__(self):
        super().__init__()
        self.ir1 = create_backbone(TINY, width=4)
        self.ir2 = create_backbone(TINY, width=6)
        self.relation_net = nn.Conv2d(3, 2, 1).requires_grad_(False)

    def forward(self, batch: dict) -> StepOutput:
        i1 = self.ir1(batch["lq"])
        i2 = self.ir2(i1.detach())
        l1 = (i1 - batch["gt"]).abs().mean()
        l2 = (i2 - batch["gt"]).abs().mean()
        total = l1 + l2
        return StepOutput(total, {"loss": float(total.detach()), "loss_ir2": float(l2.detach())})

    def restore(self, lq: torch.Tensor) -> torch.Tensor:
        return self.ir1(lq)

    def shipped_model(self) -> nn.Module:
        return self.ir1

    def shipped_spec(self) -> tuple[str, dict]:
        return TINY, {"width": 4}

    def frozen_prefixes(self) -> tuple[str, ...]:
        return ("relation_net.",)

    def extra_validation(self, batch: dict) -> dict[str, torch.Tensor]:
        return {"ir2": self.ir2(self.ir1(batch["lq"]))}


def make_cfg(output_dir: str, **train: Any):
    train_cfg = {"steps": 20, "val_every": 0, "save_every": 0, "log_every": 5, "deterministic": True,
                 "tensorboard": False, "progress": False,
                 "optimizer": {"lr": 1e-2}, "schedule": {"name": "cosine", "warmup_steps": 3, "min_lr": 1e-4}}
    train_cfg.update(train)
    return config_from_dict({"output_dir": output_dir, "seed": 5, "model": {"name": TINY, "args": {"width": 4}},
                             "train": train_cfg})


def fake_build_experiment(cfg):
    """Stands in for `samdistill.build.build_experiment` in CLI tests: the tiny method and loaders."""
    from accelerate.utils import set_seed

    set_seed(cfg.seed)
    return NoisyPlain(), *loaders()
