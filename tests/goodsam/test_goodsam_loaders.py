"""GoodSAM builds like restoration (issue 23): provider -> datasets -> loaders through
`data.loader.make_loader` -> method. The batches are those of the loaders it built itself before,
and a damaged image or label fails at build time, naming the file."""
import shutil

import pytest
import torch
from torch.utils.data import DataLoader

from _goodsam_fixtures import make_cfg
from samdistill.build import build_experiment
from samdistill.core.errors import DataError
from samdistill.data.segmentation.dataset import SegmentationDataset
from samdistill.goodsam.build import WithSource, masks_per_window
from samdistill.goodsam.data import PanoramaWindows
from samdistill.priors.provider import PriorProvider


def old_loaders(cfg):
    """A copy of the DataLoaders `build_goodsam_experiment` made itself before issue 23."""
    g, d = cfg.goodsam, cfg.goodsam.data
    classes = {"classes": g.classes}
    source = SegmentationDataset(d.source.model_copy(update=classes), crop=d.source_crop, hflip=True, seed=cfg.seed)
    if g.stage == "source":
        train_set, batch_size = source, d.batch_size
    else:
        target = PanoramaWindows(d.target.model_copy(update=classes), g.windows, PriorProvider(cfg.priors, source="lq"),
                                 d.num_masks, masks_per_window=masks_per_window(cfg))
        train_set = WithSource(target, source if g.weights.source > 0 else None, seed=cfg.seed)
        batch_size = d.target_batch_size
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(cfg.seed), num_workers=d.num_workers)
    val = DataLoader(SegmentationDataset(d.val.model_copy(update=classes)), batch_size=1, shuffle=False,
                     num_workers=d.num_workers)
    return train, val


def batches(loader, epochs=2):
    out = []
    for epoch in range(epochs):
        if hasattr(loader.dataset, "set_epoch"):
            loader.dataset.set_epoch(epoch)
        out += list(loader)
    return out


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))
    else:
        assert a == b


@pytest.mark.parametrize("stage, extra", [("source", {}), ("adapt", {}), ("adapt", {"weights": {"source": 0.0}}),
                                          ("source", {"data": {"num_workers": 1}})])
def test_loaders_yield_the_batches_of_the_old_construction(tiny_world, tmp_path, stage, extra):
    cfg = make_cfg(tiny_world, tmp_path / "run", stage, **extra)
    cfg.seed = 3  # not the default: the shuffle follows the config's seed
    _, train, val = build_experiment(cfg)
    old_train, old_val = old_loaders(cfg)
    new, old = batches(train), batches(old_train)
    assert len(new) == len(old) > 0
    index = (lambda b: b["index"]) if stage == "source" else (lambda b: b["target"]["index"])
    assert [index(b).tolist() for b in new] == [index(b).tolist() for b in old]
    for a, b in zip(new, old):
        assert_same(a, b)
    for a, b in zip(batches(val, 1), batches(old_val, 1)):
        assert_same(a, b)
    assert train.drop_last and val.batch_size == 1
    assert (train.worker_init_fn is not None) == bool(cfg.goodsam.data.num_workers)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # past the header: only a full decode notices
    return path


@pytest.mark.parametrize("stage, damaged", [("source", "pinhole/leftImg8bit/train"), ("adapt", "pano/leftImg8bit/train"),
                                            ("source", "pano/gtFine/val")])
def test_a_truncated_file_fails_at_build_time_naming_it(tiny_world, tmp_path, stage, damaged):
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    path = truncate(sorted((world / damaged).rglob("*.png"))[0])
    with pytest.raises(DataError, match=str(path)):
        build_experiment(make_cfg(world, tmp_path / "run", stage))
