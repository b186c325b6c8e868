"""build_experiment: which method is built, seeding of initial weights, loader wiring, epochs."""
import sys
import types

import pytest
import torch

from _engine_fixtures import TINY, loaders, make_cfg
from samdistill.build import build_experiment, build_method, steps_for_epochs
from samdistill.methods.plain import PlainRestoration


@pytest.fixture
def fake_data(monkeypatch):
    calls = []

    def build_dataloader(ds_cfg, data_cfg, train, prior_provider=None, seed=0):
        calls.append((ds_cfg.split, train, seed))
        return loaders()[0 if train else 1]

    monkeypatch.setitem(sys.modules, "samdistill.data.loader", types.SimpleNamespace(build_dataloader=build_dataloader))
    return calls


def test_plain_method_built_from_config_with_seeded_weights(tmp_path, fake_data):
    cfg = make_cfg(str(tmp_path), loss={"name": "mse"})
    method, train_loader, val_loader = build_experiment(cfg)
    assert fake_data == [("train", True, 5), ("test", False, 5)]
    assert isinstance(method, PlainRestoration) and method.shipped_spec() == (TINY, {"width": 4})
    again = build_method(cfg)
    assert all(torch.equal(a, b) for a, b in zip(method.state_dict().values(), again.state_dict().values()))
    batch = next(iter(train_loader))
    out = method(batch)
    expected = ((method.restore(batch["lq"]) - batch["gt"]) ** 2).mean()
    assert torch.allclose(out.loss, expected) and out.logs["loss"] == pytest.approx(float(expected.detach()))


def test_sam4ir_hook_receives_config_and_datasets(tmp_path, fake_data, monkeypatch):
    seen = {}
    fake = types.SimpleNamespace(
        build_sam4ir_method=lambda cfg, train_ds, val_ds: seen.update(train=train_ds, val=val_ds) or "M")
    monkeypatch.setitem(sys.modules, "samdistill.sam4ir.method", fake)
    cfg = make_cfg(str(tmp_path))
    cfg.sam4ir.enabled = True
    method, train_loader, val_loader = build_experiment(cfg)
    assert method == "M" and seen["train"] is train_loader.dataset and seen["val"] is val_loader.dataset


def test_prior_provider_is_built_first_and_given_to_both_datasets(tmp_path, monkeypatch):
    """config -> provider -> datasets -> loaders -> method: both sets are built with the provider,
    the method only receives them; a plain run builds no provider."""
    made = []
    monkeypatch.setitem(sys.modules, "samdistill.data.loader", types.SimpleNamespace(
        build_dataloader=lambda ds_cfg, data_cfg, train, prior_provider=None, seed=0:
        made.append((train, prior_provider)) or loaders()[0 if train else 1]))
    monkeypatch.setitem(sys.modules, "samdistill.sam4ir.priors", types.SimpleNamespace(
        build_prior_provider=lambda cfg: "P"))
    monkeypatch.setitem(sys.modules, "samdistill.sam4ir.method", types.SimpleNamespace(
        build_sam4ir_method=lambda cfg, train_ds, val_ds: "M"))
    cfg = make_cfg(str(tmp_path))
    build_experiment(cfg)
    assert made == [(True, None), (False, None)]
    cfg.sam4ir.enabled = True
    made.clear()
    build_experiment(cfg)
    assert made == [(True, "P"), (False, "P")]
    cfg.sam4ir.spf.enabled = cfg.sam4ir.sgr.enabled = False  # the cascade alone uses no masks
    made.clear()
    build_experiment(cfg)
    assert made == [(True, None), (False, None)]


def test_steps_for_epochs_splits_batches_over_processes():
    train_loader = loaders()[0]  # 12 samples, batch 2, drop_last -> 6 batches
    assert steps_for_epochs(train_loader, 200) == 1200
    assert steps_for_epochs(train_loader, 2, num_processes=4) == 4  # ceil(6 / 4) per epoch
