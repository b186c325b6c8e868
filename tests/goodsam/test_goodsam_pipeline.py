"""GoodSAM through the engine on a tiny street world: source stage, one adaptation run, resume
equality, the shipped student, and the pseudo-labels of a hand-made window. Random tiny networks:
this checks the plumbing, not the method's quality (benchmarks/results/goodsam_gain.py measures that)."""
import numpy as np
import pytest
import torch

from samdistill.build import build_experiment
from samdistill.models.artifact import load_model_artifact
from samdistill.engine.trainer import Trainer

from _goodsam_fixtures import make_cfg, run


@pytest.fixture(scope="module")
def stage1(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("stage1")
    method, result = run(make_cfg(tiny_world, out, "source"))
    return out, method, result


def test_source_stage_ships_the_student_and_saves_the_ta(stage1):
    out, method, result = stage1
    assert 0 <= result["miou"] <= 1 and 0 <= result["ta_miou"] <= 1 and result["images"] == 1
    student = load_model_artifact(out / "model.safetensors")
    ta = load_model_artifact(out / "ta.safetensors")
    x = torch.rand(1, 3, 32, 96)
    method.eval()
    torch.testing.assert_close(student(x), method.student(x))
    torch.testing.assert_close(ta(x), method.ta(x))
    assert sum(p.numel() for p in student.parameters()) == sum(p.numel() for p in method.student.parameters())


def test_adaptation_runs_every_loss_and_moves_both_networks(tiny_world, stage1, tmp_path):
    src = stage1[0]
    cfg = make_cfg(tiny_world, tmp_path / "adapt", "adapt",
                   student={"init": str(src / "model.safetensors")}, ta={"init": str(src / "ta.safetensors")})
    method, _ = run(cfg)
    import json

    logs = json.loads((tmp_path / "adapt" / "train_history.json").read_text())[-1]
    for key in ("patch", "boundary", "image", "ta_update", "consistency", "source_student", "source_ta"):
        assert key in logs and np.isfinite(logs[key]), key
    before_s, before_t = load_model_artifact(src / "model.safetensors"), load_model_artifact(src / "ta.safetensors")
    moved = lambda a, b: any(not torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert moved(method.student, before_s) and moved(method.ta, before_t)


def test_adaptation_resume_equals_an_uninterrupted_run(tiny_world, stage1, tmp_path):
    src = stage1[0]
    init = dict(student={"init": str(src / "model.safetensors")}, ta={"init": str(src / "ta.safetensors")})
    import shutil

    straight, _ = run(make_cfg(tiny_world, tmp_path / "a", "adapt", steps=4, **init))
    interrupted = make_cfg(tiny_world, tmp_path / "b", "adapt", steps=4, **init)
    interrupted.train.save_every = 2
    run(interrupted)
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step_0000004")  # as if killed after step 2's checkpoint
    (tmp_path / "b" / "model.safetensors").unlink()
    resumed, _ = run(interrupted, resume=True)
    for (k, v), w in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(v, w), k


def test_majority_vote_fusion_and_no_source_term(tiny_world, stage1, tmp_path):
    src = stage1[0]
    cfg = make_cfg(tiny_world, tmp_path / "m", "adapt", fusion="majority", weights={"source": 0.0},
                   student={"init": str(src / "model.safetensors")}, ta={"init": str(src / "ta.safetensors")})
    run(cfg)
    import json

    logs = json.loads((tmp_path / "m" / "train_history.json").read_text())[-1]
    assert "source_student" not in logs and "patch" in logs


def test_pseudo_labels_of_a_hand_made_window(tiny_world, tmp_path):
    from samdistill.goodsam.method import GoodSAM

    cfg = make_cfg(tiny_world, tmp_path, "adapt", refine_boundaries=False)
    method = GoodSAM(cfg.goodsam)
    logits = torch.zeros(1, 19, 4, 4)
    logits[0, 2] = 5.0            # the TA says building everywhere...
    logits[0, 0, 3, :] = 10.0     # ...and road on the bottom row
    masks = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
    masks[0, 0, 2:, :] = True     # a mask over the two bottom rows: half road, half building (ratio 0.5 >= theta)
    masks[0, 1, 0, 0] = True      # a one-pixel mask: building
    out = method.pseudo_labels(logits, masks)
    e, h = out["ensemble"][0], out["high_conf"][0]
    assert torch.all(e[2:] == e[2, 0]) and e[2, 0] in (0, 2)  # the whole mask takes one class
    assert h[0, 0] == 2 and torch.all(h[0, 1:] == 255) and torch.all(h[1] == 255)  # outside masks: not confident


def test_a_panorama_narrower_than_a_window_names_the_file(tiny_world, tmp_path):
    cfg = make_cfg(tiny_world, tmp_path, "adapt", windows={"window": 400, "stride": 300})
    _, train, _ = build_experiment(cfg)
    with pytest.raises(ValueError, match=r"\.png.*narrower than one window"):
        next(iter(train))


def test_feature_level_distillation_trains_its_projections(tiny_world, stage1, tmp_path):
    src = stage1[0]
    cfg = make_cfg(tiny_world, tmp_path / "f", "adapt", weights={"feature": 1.0},
                   student={"init": str(src / "model.safetensors")}, ta={"init": str(src / "ta.safetensors")})
    method, train, val = build_experiment(cfg)
    before = [p.detach().clone() for p in method.feature_proj.parameters()]
    Trainer(cfg, method, train, val).fit()
    import json

    logs = json.loads((tmp_path / "f" / "train_history.json").read_text())[-1]
    assert logs["feature"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, method.feature_proj.parameters()))


def test_vertical_windows_train_end_to_end(tiny_world, stage1, tmp_path):
    """GoodSAM++'s vertical sliding: 64-px-high panoramas in 32-px rows every 16 px -> 3 rows x 7 columns
    (SegFormer needs windows of at least 32 px, so these panoramas are taller than the module's)."""
    import json

    from samdistill.goodsam.windows import WindowGrid
    from samdistill.world.build import WorldBuildConfig, build_world

    tall = tmp_path / "tall"
    build_world(tall, WorldBuildConfig(pinhole_train=1, pinhole_val=0, pano_train=2, pano_val=0,
                                       pinhole_size=(32, 64), pano_size=(64, 160)), progress=False)
    src = stage1[0]
    cfg = make_cfg(tiny_world, tmp_path / "v", "adapt", windows={"window_h": 32, "stride_h": 16},
                   student={"init": str(src / "model.safetensors")}, ta={"init": str(src / "ta.safetensors")},
                   data={"target": {"layout": "densepass", "root": str(tall / "pano"), "split": "train"},
                         "val": None})
    cfg.priors.world.roots = [str(tall / "pano")]
    method, train, _ = build_experiment(cfg)
    item = train.dataset.target[0]
    grid = WindowGrid.for_size(cfg.goodsam.windows, *item["image"].shape[-2:])
    assert len(grid) == 21 and item["masks"].shape == (21, 8, 32, 32)
    assert {top for top, _ in grid.boxes} == {0, 16, 32}
    assert any(o.rows_i != o.rows_j for o in grid.overlaps())  # vertical neighbours share rows
    Trainer(cfg, method, train, None).fit()
    logs = json.loads((tmp_path / "v" / "train_history.json").read_text())[-1]
    assert np.isfinite(logs["patch"]) and logs["consistency"] > 0


def test_every_goodsam_config_loads():
    from pathlib import Path

    from samdistill.config.loader import load_config

    root = Path(__file__).resolve().parents[2] / "configs" / "goodsam"
    paths = [p for p in root.rglob("*.yaml") if not p.name.startswith("_")]
    assert len(paths) >= 20
    for path in paths:
        cfg = load_config(path)
        assert cfg.task == "panoramic", path
        g = cfg.goodsam
        assert g.windows.stride <= g.windows.window
        if g.stage == "adapt" and g.ta.init:
            assert "source" in g.ta.init, (path, "adaptation starts from a stage-1 TA")


def test_a_dataset_root_override_keeps_its_roles_layout_and_split():
    from samdistill.config.loader import apply_overrides, config_from_dict

    cfg = config_from_dict(apply_overrides({}, ["task=panoramic", "goodsam.data.source.root=/cs",
                                                "goodsam.data.target.root=/dp", "goodsam.data.val.root=/dp"]), "t")
    d = cfg.goodsam.data
    assert (d.source.layout, d.source.split) == ("cityscapes", "train")
    assert (d.target.layout, d.target.split) == ("densepass", "train")
    assert (d.val.layout, d.val.split) == ("densepass", "val")


def test_ema_ta_makes_the_labels_and_follows_the_ta(tiny_world, tmp_path):
    """`ta_ema`: pseudo-labels from a slow copy of the TA, ema <- d*ema + (1-d)*ta before each step, checkpointed."""
    from samdistill.goodsam.method import GoodSAM

    cfg = make_cfg(tiny_world, tmp_path, "adapt", ta_ema=0.9)
    method = GoodSAM(cfg.goodsam)
    assert any(k.startswith("ta_copy.") for k in method.state_dict())
    assert not any(p.requires_grad for p in method.ta_copy.parameters())
    name, live = next((n, p) for n, p in method.ta.named_parameters() if p.ndim > 1)
    before = live.detach().clone()
    with torch.no_grad():
        live.add_(1.0)
    method.on_step_start(0, None)  # step 0: the copy is the TA it started from
    torch.testing.assert_close(dict(method.ta_copy.named_parameters())[name], before)
    method.on_step_start(1, None)
    torch.testing.assert_close(dict(method.ta_copy.named_parameters())[name], before + 0.1)
    method.train()
    assert method.ta.training and not method.ta_copy.training
    method, train, _ = build_experiment(cfg)
    batch = next(iter(train))
    with torch.no_grad():
        method.ta.apply(lambda m: [p.add_(0.5) for p in m.parameters(recurse=False)])  # TA and copy now differ
    captured = []
    original = method.pseudo_labels
    method.pseudo_labels = lambda logits, *rest: captured.append(logits) or original(logits, *rest)
    method(batch)
    from samdistill.goodsam.windows import WindowGrid

    x = batch["target"]["image"]
    xw = WindowGrid.for_size(cfg.goodsam.windows, *x.shape[-2:]).extract(x)
    with torch.no_grad():
        torch.testing.assert_close(captured[0], method.ta_copy(xw))
        assert not torch.allclose(captured[0], method.ta.eval()(xw))


def test_class_carrying_masks_reach_ctcf_through_the_dataset(tiny_world, tmp_path):
    """SAM 3-style masks with classes: the panorama dataset keeps each window's mask classes beside its
    masks, and with `ctcf.mask_class_threshold` the method's labels take them."""
    from samdistill.goodsam.data import PanoramaWindows
    from samdistill.goodsam.method import GoodSAM
    from samdistill.priors.maskset import MaskSet

    class Sam3Like:  # the whole panorama: top half one mask of class 8 (score 0.9), bottom half class 5 (0.2)
        def masks_for(self, image):
            h, w = image.shape[:2]
            m = np.zeros((2, h, w), bool)
            m[0, : h // 2], m[1, h // 2:] = True, True
            return MaskSet(m, class_id=np.array([8, 5]), class_score=np.array([0.9, 0.2], np.float32))

    cfg = make_cfg(tiny_world, tmp_path, "adapt", refine_boundaries=False, ctcf={"mask_class_threshold": 0.5})
    g = cfg.goodsam
    ds = PanoramaWindows(g.data.target.model_copy(update={"classes": 19}), g.windows, Sam3Like(), 4,
                         masks_per_window=False)
    item = ds[0]
    k = item["masks"].shape[0]
    assert item["mask_class"].shape == (k, 4) and item["mask_class"][0].tolist() == [8, 5, -1, -1]
    assert item["mask_score"][0, 0] == pytest.approx(0.9) and torch.isnan(item["mask_score"][0, 2])
    method = GoodSAM(g)
    logits = torch.zeros(k, 19, *item["masks"].shape[-2:])
    logits[:, 0] = 5.0  # the TA says road everywhere
    e = method.pseudo_labels(logits, item["masks"].bool(), item["mask_class"], item["mask_score"])["ensemble"]
    half = e.shape[1] // 2
    assert (e[:, :half] == 8).all() and (e[:, half:] == 0).all()  # trusted class on top, the TA's vote below
