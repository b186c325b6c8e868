"""Run by test_restored_refresh_ddp.py under torch.distributed.run: 2 CPU processes (gloo) make
the restored priors together, each its share; each rank reports what it made."""
import json
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

sys.path.insert(0, str(Path(__file__).parent))

from test_restored_refresh import _Trainer, make_cfg  # noqa: E402
from samdistill.data.config import DatasetConfig  # noqa: E402
from samdistill.data.paired import PairedImageDataset  # noqa: E402
from samdistill.sam4ir.method import build_sam4ir_method
from samdistill.sam4ir.priors import build_prior_provider  # noqa: E402


def main(root: Path) -> None:
    acc = Accelerator()
    cfg = make_cfg(root)
    provider = build_prior_provider(cfg)  # before the datasets, as build_experiment builds
    train = PairedImageDataset(DatasetConfig(layout="restormer", root=str(root / "train")), crop_size=16, prior_provider=provider)
    val = PairedImageDataset(DatasetConfig(layout="restormer", root=str(root / "val")), prior_provider=provider)
    torch.manual_seed(0)  # same IR1 on both ranks, as DDP keeps it
    method = build_sam4ir_method(cfg, train, val)
    with torch.no_grad():
        for p in method.ir1.parameters():
            p.add_(0.05 * torch.randn_like(p))
    made = {}
    for step in (0, 3):
        method.on_step_start(step, _Trainer(cfg, acc))
        made[step] = method.last_refresh.images
    (root / f"rank{acc.process_index}.json").write_text(json.dumps({"made": made, "world": acc.num_processes}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
