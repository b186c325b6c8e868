"""`data.loader.make_loader`, the one DataLoader builder of both recipes (issue 23)."""
import pytest
import torch
from torch.utils.data import DataLoader

from samdistill.core.errors import DataError
from samdistill.data.loader import make_loader
from samdistill.data.worker_logs import WorkerWarningsOnce


def order(loader, epochs=2):
    return [b.tolist() for _ in range(epochs) for b in loader]


def test_training_order_follows_the_seed_and_drops_the_last_short_batch():
    data = list(range(10))
    reference = DataLoader(data, batch_size=3, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(7))
    batches = order(make_loader(data, 3, train=True, seed=7))
    assert batches == order(reference)  # each epoch a new permutation, from the seed alone
    assert len(batches) == 6 and all(len(b) == 3 for b in batches)
    assert order(make_loader(data, 3, train=True, seed=7)) == batches
    assert order(make_loader(data, 3, train=True, seed=8)) != batches


def test_evaluation_keeps_every_item_in_order():
    assert order(make_loader(list(range(5)), 2, train=False), 1) == [[0, 1], [2, 3], [4]]


def test_workers_show_each_warning_once():
    assert isinstance(make_loader([0, 1], 1, train=True, workers=2).worker_init_fn, WorkerWarningsOnce)
    assert make_loader([0, 1], 1, train=False, workers=0).worker_init_fn is None


def test_fewer_items_than_a_batch_is_a_data_error_with_the_callers_hint():
    with pytest.raises(DataError, match=r"^2 training items is fewer than batch_size 4; lower x\.batch_size$"):
        make_loader([0, 1], 4, train=True, hint="; lower x.batch_size")
