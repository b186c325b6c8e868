"""Run by test_engine_ddp.py under torch.distributed.run: 2 CPU processes (gloo) train together.

Each rank writes its final IR1 weights and the sample indices it trained on to OUT_DIR; then
the same 2 processes train straight and interrupted + resumed (runs OUT_DIR/straight, /resumed).
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from accelerate.utils import set_seed  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from _engine_fixtures import TINY, NoisyPlain, loaders, make_cfg  # noqa: E402
from samdistill.engine.trainer import Trainer  # noqa: E402
from samdistill.methods.plain import PlainRestoration  # noqa: E402


class RecordingPlain(PlainRestoration):
    def __init__(self):
        super().__init__(TINY, {"width": 4})
        self.seen: list[int] = []

    def forward(self, batch):
        self.seen += batch["index"].tolist()
        return super().forward(batch)


def resumed_run(out: Path, rank: int) -> None:
    """Straight 8 steps vs. crash at step 4 (mid-epoch) + resume, in 2 processes."""
    def run(name: str, crash_at=None, resume=False) -> None:
        cfg = make_cfg(str(out / name), steps=8, save_every=4, log_every=2)
        set_seed(cfg.seed)
        Trainer(cfg, NoisyPlain(crash_at=crash_at), *loaders()).fit(resume=resume)

    run("straight")
    try:
        run("resumed", crash_at=4)
    except KeyboardInterrupt:
        pass
    run("resumed", resume=True)


def main(out: Path) -> None:
    rank = int(os.environ["RANK"])
    cfg = make_cfg(str(out / "run"), steps=3, log_every=1, deterministic=False)
    set_seed(cfg.seed)
    method = RecordingPlain()
    if rank == 0:
        save_file({k: v.clone() for k, v in method.ir1.state_dict().items()}, str(out / "initial.safetensors"))
    Trainer(cfg, method, *loaders(n_val=5)).fit()
    save_file(dict(method.ir1.state_dict()), str(out / f"rank{rank}.safetensors"))
    (out / f"seen_rank{rank}.json").write_text(json.dumps(method.seen))
    resumed_run(out, rank)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
