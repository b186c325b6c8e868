"""How GoodSAM's pseudo-labels are made: by the TA state `label_ta` names, without gradient and in eval
mode; a frozen TA (`train_ta: false`) does not move; the TA builds no graph when nothing trains it.
Random tiny networks: plumbing, not quality."""
import pytest
import torch

from samdistill.build import build_experiment
from samdistill.config.loader import load_config
from samdistill.goodsam.windows import WindowGrid

from _goodsam_fixtures import make_cfg, run


def _windows(cfg, batch):
    x = batch["target"]["image"]
    return WindowGrid.for_size(cfg.goodsam.windows, *x.shape[-2:]).extract(x)


def _captured_label_logits(method, batch):
    captured = []
    original = method.pseudo_labels
    method.pseudo_labels = lambda logits, *rest: captured.append(logits) or original(logits, *rest)
    method.train()
    method(batch)
    return captured[0]


def test_live_labels_come_from_the_ta_in_eval_mode_without_gradient(tiny_world, tmp_path):
    # dropout and drop path on, so a training-mode forward differs from the eval-mode one
    cfg = make_cfg(tiny_world, tmp_path, "adapt")  # label_ta: null = live
    method, train, _ = build_experiment(cfg)
    for module in method.ta.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    batch = next(iter(train))
    with torch.no_grad():  # before the step: its training forward moves the TA's BatchNorm statistics
        expected = method.ta.eval()(_windows(cfg, batch))
    logits = _captured_label_logits(method, batch)
    assert not logits.requires_grad
    torch.testing.assert_close(logits, expected)
    method.train()
    assert method.ta.training, "the live TA goes back to training mode after labeling"


@pytest.mark.parametrize("label_ta", ["frozen", "ema"])
def test_copy_labels_come_from_the_stage1_ta_copy(tiny_world, tmp_path, label_ta):
    extra = {"ta_ema": 0.9} if label_ta == "ema" else {}
    cfg = make_cfg(tiny_world, tmp_path, "adapt", label_ta=label_ta, **extra)
    method, train, _ = build_experiment(cfg)
    assert method.labeler() is method.ta_copy and not any(p.requires_grad for p in method.ta_copy.parameters())
    batch = next(iter(train))
    with torch.no_grad():
        method.ta.apply(lambda m: [p.add_(0.5) for p in m.parameters(recurse=False)])  # the live TA moves away
    logits = _captured_label_logits(method, batch)
    with torch.no_grad():
        torch.testing.assert_close(logits, method.ta_copy(_windows(cfg, batch)))
        assert not torch.allclose(logits, method.ta.eval()(_windows(cfg, batch)))
    if label_ta == "frozen":  # a frozen copy never follows the TA
        before = {k: v.clone() for k, v in method.ta_copy.state_dict().items()}
        method.on_step_start(5, None)
        assert all(torch.equal(before[k], v) for k, v in method.ta_copy.state_dict().items())


def test_frozen_ta_does_not_move(tiny_world, tmp_path):
    """`train_ta: false` in the adapt stage: no weight and no BatchNorm statistic of the TA changes."""
    cfg = make_cfg(tiny_world, tmp_path / "run", "adapt", steps=2, train_ta=False,
                   weights={"ta_update": 0.0, "consistency": 0.0})
    method, _, _ = build_experiment(cfg)
    start = {k: v.clone() for k, v in method.ta.state_dict().items()}
    method, _ = run(cfg)
    assert all(torch.equal(start[k], v) for k, v in method.ta.state_dict().items())
    assert method.ta_copy is None and method.labeler() is method.ta


def test_shipped_frozen_ta_ablation_freezes_the_ta():
    cfg = load_config("configs/goodsam/ablation/frozen_ta.yaml", [])
    assert cfg.goodsam.train_ta is False and cfg.goodsam.label_source == "frozen"


def test_source_stage_with_ema_labels_configured_trains(tiny_world, tmp_path):
    """A shared recipe names EMA labels for both stages: stage source has no copy to update."""
    run(make_cfg(tiny_world, tmp_path, "source", label_ta="ema", ta_ema=0.99))


def test_frozen_ta_with_ta_losses_is_a_config_error(tiny_world, tmp_path):
    with pytest.raises(ValueError, match="train_ta=false"):
        make_cfg(tiny_world, tmp_path, "adapt", train_ta=False)  # ta_update / consistency default > 0
    with pytest.raises(ValueError, match="ta_ema > 0"):
        make_cfg(tiny_world, tmp_path, "adapt", label_ta="ema")
    with pytest.raises(ValueError, match="only used with label_ta=ema"):
        make_cfg(tiny_world, tmp_path, "adapt", label_ta="frozen", ta_ema=0.99)


def test_ta_builds_no_graph_when_nothing_trains_it_on_windows(tiny_world, tmp_path):
    cfg = make_cfg(tiny_world, tmp_path, "adapt", weights={"ta_update": 0.0, "consistency": 0.0, "source": 0.0})
    method, train, _ = build_experiment(cfg)
    outputs = []
    method.ta.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    method.train()
    method(next(iter(train)))
    assert outputs and not any(o.requires_grad for o in outputs)


def test_image_target_from_stitched_ensemble_labels(tiny_world, tmp_path):
    """`mka.image_target: ensemble`: the whole panorama learns stitched E, not the TA's argmax."""
    cfg = make_cfg(tiny_world, tmp_path, "adapt", mka={"image_target": "ensemble"},
                   weights={"patch": 0.0, "boundary": 0.0, "ta_update": 0.0, "consistency": 0.0, "source": 0.0})
    method, train, _ = build_experiment(cfg)
    batch = next(iter(train))
    captured = []
    import samdistill.goodsam.mka as mka

    original = mka.image_label_loss
    mka.image_label_loss = lambda student, target, **kw: captured.append(target) or original(student, target, **kw)
    try:
        method.train()
        out = method(batch)
    finally:
        mka.image_label_loss = original
    x = batch["target"]["image"]
    assert captured and captured[0].shape == (x.shape[0], *x.shape[-2:])
    assert torch.isfinite(out.loss) and out.logs["image"] > 0


def test_fusion_none_labels_are_the_tas_own_window_labels(tiny_world, tmp_path):
    """Table 2's windows-only row: no mask fusion, E = the TA's argmax, no high-confidence labels."""
    from samdistill.goodsam.method import GoodSAM

    cfg = make_cfg(tiny_world, tmp_path, "adapt", fusion="none", refine_boundaries=False)
    method = GoodSAM(cfg.goodsam)
    logits = torch.randn(2, 19, 8, 8)
    masks = torch.zeros(2, 3, 8, 8, dtype=torch.bool)
    masks[:, 0, :4] = True  # a mask that CTCF or the vote would fill with one class
    labels = method.pseudo_labels(logits, masks)
    assert torch.equal(labels["ensemble"], logits.argmax(1))
    assert (labels["high_conf"] == 255).all()
