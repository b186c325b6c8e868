"""A warning raised in every DataLoader worker (and again each epoch) is shown once per run;
messages that differ (one per file) are all shown."""
import logging
import warnings

import torch
from torch.utils.data import DataLoader, Dataset

from samdistill.data.config import DataConfig, DatasetConfig
from samdistill.data.loader import build_dataloader
from samdistill.data.worker_logs import WorkerWarningsOnce


class Chatty(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        logging.getLogger("samdistill.worker_test").warning("the same for every worker")
        logging.getLogger("samdistill.worker_test").warning("item %d is special", i)
        warnings.warn("a library's warning", UserWarning)
        return torch.zeros(1)


def test_each_warning_once_per_run_across_workers_and_epochs(tmp_path, monkeypatch):
    out = tmp_path / "log.txt"
    log = logging.getLogger("samdistill.worker_test")
    handler = logging.FileHandler(out)
    log.addHandler(handler)
    monkeypatch.setattr(warnings, "showwarning", lambda m, c, *a, **k: open(out, "a").write(f"{c.__name__}: {m}\n"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            loader = DataLoader(Chatty(), batch_size=1, num_workers=2, worker_init_fn=WorkerWarningsOnce())
            for _ in range(2):  # workers start again each epoch
                list(loader)
    finally:
        log.removeHandler(handler)
        handler.close()
    lines = out.read_text().splitlines()
    assert lines.count("the same for every worker") == 1
    assert lines.count("UserWarning: a library's warning") == 1
    assert sorted(line for line in lines if line.startswith("item ")) == [f"item {i} is special" for i in range(6)]


def test_training_and_validation_loaders_with_workers_use_it(tmp_path, save_image):
    for name in "ab":
        save_image(tmp_path / "lq" / f"{name}.png")
        save_image(tmp_path / "gt" / f"{name}.png")
    ds = DatasetConfig(layout="folders", root=str(tmp_path), lq_dir="lq", gt_dir="gt", cache_dir=str(tmp_path / "c"))
    data = DataConfig(crop_size=8, batch_size=1, num_workers=1)
    for train in (True, False):
        assert isinstance(build_dataloader(ds, data, train=train).worker_init_fn, WorkerWarningsOnce)
