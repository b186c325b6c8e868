"""Issue 10, defect 7: restored priors made by the training processes, read by the workers.

One process here; two (gloo, CPU) in test_restored_refresh_ddp.py."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from samdistill.config.loader import apply_overrides, config_from_dict
from samdistill.data.config import DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.paired import PairedImageDataset
from samdistill.priors.offline import OfflineSegmenter
from samdistill.priors.selection import PackedCandidates, select_in_window
from samdistill.sam4ir.method import build_sam4ir_method
from samdistill.sam4ir.priors import build_prior_provider
from samdistill.sam4ir.priors import RestoredPriorProvider, SNAPSHOT_NAME, snapshot_digest
from samdistill.sam4ir.refresh import POINTER_NAME, PriorRefresher, pair_key, read_pointer


def write_pairs(root, n, size=(24, 20), seed=0):
    rng = np.random.default_rng(seed)
    for sub in ("input", "target"):
        (root / sub).mkdir(parents=True)
    for i in range(n):
        gt = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        gt[:, : size[0] // 2] //= 3  # two halves, so segmenters find regions
        lq = np.clip(gt.astype(int) + rng.integers(-40, 40, gt.shape), 0, 255).astype(np.uint8)
        Image.fromarray(lq).save(root / "input" / f"{i}.png")
        Image.fromarray(gt).save(root / "target" / f"{i}.png")
    return DatasetConfig(layout="restormer", root=str(root))


def make_cfg(tmp_path, extra=()):
    return config_from_dict(apply_overrides({}, [
        f"output_dir={tmp_path / 'run'}", "model.name=nafnet_tiny", "sam4ir.enabled=true",
        "sam4ir.prior_source=restored", "sam4ir.refresh_every=3", "sam4ir.sgr.features=random_conv",
        "sam4ir.refresh_batch_size=2", "priors.backend=offline", f"priors.cache_dir={tmp_path / 'cache'}",
        "priors.num_masks=4", *extra]))


class _Trainer:
    def __init__(self, cfg, accelerator=None):
        self.cfg, self.accelerator = cfg, accelerator


class RefusingSegmenter:
    """What a worker would get if it tried to segment: an error."""

    def __call__(self, image):
        raise AssertionError("a data worker segmented an image")

    def fingerprint(self):
        raise AssertionError("a data worker built a segmenter")


@pytest.fixture
def setup(tmp_path):
    cfg = make_cfg(tmp_path)
    provider = build_prior_provider(cfg)  # before the datasets, as build_experiment builds
    train = PairedImageDataset(write_pairs(tmp_path / "train", 5), crop_size=16, prior_provider=provider)
    val = PairedImageDataset(write_pairs(tmp_path / "val", 2, seed=1), prior_provider=provider)
    method = build_sam4ir_method(cfg, train, val)
    with torch.no_grad():  # an IR1 whose output differs visibly from its input
        for p in method.ir1.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return cfg, method, train, val


def test_refresh_stores_masks_of_ir1_outputs_by_pair_and_snapshot(setup):
    cfg, method, train, val = setup
    out = Path(cfg.output_dir)
    method.on_step_start(0, _Trainer(cfg))  # before the warm-up: LQ masks, made here
    pointer = read_pointer(out / POINTER_NAME)
    assert pointer["tag"] == "lq" and method.last_refresh.images == 7  # 5 train + 2 val pairs
    seg = OfflineSegmenter(cfg.priors.offline)
    lq0, _ = train.read_pair(0)
    stored = method._refresher.cache.get(pair_key(train.pairs[0], "lq"), pointer["fingerprint"])
    np.testing.assert_array_equal(stored.masks, seg(lq0).masks)

    method.on_step_start(3, _Trainer(cfg))  # first refresh: IR1's outputs
    pointer = read_pointer(out / POINTER_NAME)
    assert pointer["tag"] == snapshot_digest(out / SNAPSHOT_NAME) and pointer["step"] == 3
    old_path = RestoredPriorProvider(cfg.priors, out / SNAPSHOT_NAME, cfg.model.name, cfg.model.args, cache=False)
    for ds in (train, val):
        for i in range(len(ds.pairs)):
            lq, gt = ds.read_pair(i)
            restored = old_path.image_for_source(i, lq, gt)  # one image at a time, as workers did
            assert not np.array_equal(restored, lq)
            got = method._refresher.cache.get(pair_key(ds.pairs[i], pointer["tag"]), pointer["fingerprint"])
            np.testing.assert_array_equal(got.masks, seg(restored).masks)
    method.on_step_start(4, _Trainer(cfg))  # not due: nothing made
    assert method.last_refresh.images == 7


def test_workers_only_read_the_stored_masks(setup):
    cfg, method, train, val = setup
    method.on_step_start(0, _Trainer(cfg))
    method.on_step_start(3, _Trainer(cfg))
    provider = train.prior_provider
    provider._segmenter = RefusingSegmenter()  # a worker that segments or restores fails the test
    provider.image_for_source = lambda *a: (_ for _ in ()).throw(AssertionError("a worker ran IR1"))
    batches = list(DataLoader(train, batch_size=5, num_workers=2))
    assert batches[0]["masks"].shape == (5, 4, 16, 16) and batches[0]["masks"].any()
    item = val[1]  # full image: the N largest stored masks
    pointer = read_pointer(Path(cfg.output_dir) / POINTER_NAME)
    stored = method._refresher.cache.get(pair_key(val.pairs[1], pointer["tag"]), pointer["fingerprint"])
    np.testing.assert_array_equal(item["masks"].numpy(), select_in_window(PackedCandidates(stored, 64), None, 4))


def test_a_pair_missing_from_the_refresh_is_an_error_naming_it(setup, tmp_path):
    cfg, method, train, val = setup
    method.prior_datasets = [train]  # val left out of the refresh
    method.on_step_start(0, _Trainer(cfg))
    with pytest.raises(DataError, match=r"input/0\.png.*no restored masks"):
        val[0]


def test_resumed_refresh_skips_stored_entries(setup):
    cfg, method, train, val = setup
    method.on_step_start(0, _Trainer(cfg))
    again = PriorRefresher(cfg.priors, cfg.output_dir, segmenter=OfflineSegmenter(cfg.priors.offline))
    stats = again.run([train, val], None, "lq", 0)
    assert stats.images == 0 and stats.skipped == 7
    assert json.loads((Path(cfg.output_dir) / POINTER_NAME).read_text())["tag"] == "lq"


def test_sam4ir_method_refuses_datasets_built_without_the_provider(tmp_path):
    """The provider is built before the datasets (build.build_experiment); a dataset without one
    would train SAM4IR on batches with no masks."""
    cfg = make_cfg(tmp_path)
    train = PairedImageDataset(write_pairs(tmp_path / "train", 2), crop_size=16)
    with pytest.raises(ValueError, match="prior provider"):
        build_sam4ir_method(cfg, train)
