"""`goodsam.label_cache`: a frozen labeler's E, E_H and image target are computed once per panorama and
reused; the step's loss is the same as when they are recomputed. Random tiny networks: plumbing, not quality."""
import pytest
import torch
from pydantic import ValidationError

from samdistill.build import build_experiment

from _goodsam_fixtures import make_cfg

FROZEN = {"train_ta": False, "weights": {"ta_update": 0.0, "consistency": 0.0}}


def _labeler_calls(method):
    calls = []
    method.labeler().register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize("image_target", ["ta", "high_conf"])
def test_cached_labels_give_the_recomputed_loss_without_the_labeler(tiny_world, tmp_path, image_target):
    mka = {"image_target": image_target}
    cached_cfg = make_cfg(tiny_world, tmp_path / "a", "adapt", label_cache=True, mka=mka, **FROZEN)
    plain_cfg = make_cfg(tiny_world, tmp_path / "b", "adapt", mka=mka, **FROZEN)
    cached, train, _ = build_experiment(cached_cfg)
    plain, _, _ = build_experiment(plain_cfg)
    plain.load_state_dict(cached.state_dict())
    batch = next(iter(train))
    calls = _labeler_calls(cached)
    cached.train(), plain.train()

    def step(method):
        torch.manual_seed(0)  # the same dropout / drop-path draws in the student
        return method(batch)

    first = step(cached)
    assert len(calls) == 1 and len(cached.label_cache) == len(batch["target"]["index"])
    second = step(cached)
    assert len(calls) == 1, "the second visit of the same panoramas must not run the labeler"
    reference = step(plain)
    for out in (first, second):
        assert set(out.logs) == set(reference.logs)
        torch.testing.assert_close(out.loss, reference.loss)
        for name in ("patch", "boundary", "image"):
            torch.testing.assert_close(out.logs[name], reference.logs[name])


def test_a_batch_with_one_new_panorama_is_labeled_again(tiny_world, tmp_path):
    cfg = make_cfg(tiny_world, tmp_path, "adapt", label_cache=True, **FROZEN)
    method, train, _ = build_experiment(cfg)
    batch = next(iter(train))
    calls = _labeler_calls(method)
    method.train()
    method(batch)
    batch["target"]["index"] = batch["target"]["index"] + 1000  # unseen indices
    method(batch)
    assert len(calls) == 2


@pytest.mark.parametrize("extra, message", [
    ({}, "never change"),  # the live TA trains: its labels move
    ({"label_ta": "ema", "ta_ema": 0.99}, "never change"),
    ({**FROZEN, "weights": {**FROZEN["weights"], "feature": 1.0}}, "feature"),
    ({**FROZEN, "mka": {"image_kind": "kl_soft"}}, "image_kind"),
])
def test_label_cache_refuses_labels_that_move(tiny_world, tmp_path, extra, message):
    with pytest.raises(ValidationError, match=message):
        make_cfg(tiny_world, tmp_path, "adapt", label_cache=True, **extra)


def test_label_cache_with_the_frozen_stage1_copy_is_allowed(tiny_world, tmp_path):
    cfg = make_cfg(tiny_world, tmp_path, "adapt", label_cache=True, label_ta="frozen")
    method, _, _ = build_experiment(cfg)
    assert method.label_cache is not None and method.labeler() is method.ta_copy


def test_class_weights_follow_the_pseudo_labels_seen(tiny_world, tmp_path):
    cfg = make_cfg(tiny_world, tmp_path, "adapt", label_cache=True, mka={"class_weight_power": 0.5}, **FROZEN)
    method, train, _ = build_experiment(cfg)
    batch = next(iter(train))
    method.train()
    out = method(batch)
    counts = method._label_counts.clone()
    assert counts.sum() > 0 and torch.isfinite(out.loss)
    method(batch)  # the cached visit counts its labels again
    torch.testing.assert_close(method._label_counts, 2 * counts)
    with pytest.raises(ValidationError, match="kl_soft"):
        make_cfg(tiny_world, tmp_path, "adapt", mka={"class_weight_power": 0.5, "image_kind": "kl_soft"})
