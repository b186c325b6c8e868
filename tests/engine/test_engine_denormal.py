"""train.flush_denormal: denormal floats are flushed to zero while training (CPU), and only then."""
import pytest
import torch

from _engine_fixtures import NoisyPlain, loaders, make_cfg
from samdistill.engine.trainer import Trainer

DENORMAL = 1e-40  # below float32's smallest normal number (1.18e-38)


def _flushes() -> bool:
    """True when float32 arithmetic turns a denormal into 0 (the flag is on)."""
    return float(torch.tensor([DENORMAL]) * 1.0) == 0.0


class _Probe(NoisyPlain):
    def __init__(self):
        super().__init__()
        self.seen: list[bool] = []

    def forward(self, batch):
        self.seen.append(_flushes())
        return super().forward(batch)


@pytest.mark.parametrize("flush", [True, False])
def test_flush_denormal_is_on_during_training_and_restored_after(tmp_path, flush):
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals (no SSE3)")
    assert not _flushes()
    method = _Probe()
    train_loader, _ = loaders()
    Trainer(make_cfg(str(tmp_path / "run"), steps=2, flush_denormal=flush), method, train_loader).fit()
    assert method.seen == [flush, flush]
    assert not _flushes()  # the process-wide flag is back to torch's default
