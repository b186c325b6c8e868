"""prior_source=restored (paper eq. 2): masks of IR1's output, refreshed from IR1 snapshots."""
import os

import numpy as np
import pytest
import torch

from samdistill.config.loader import apply_overrides, config_from_dict
from samdistill.engine.artifact import read_safetensors
from samdistill.models.registry import create_backbone
from samdistill.sam4ir.method import build_sam4ir_method
from samdistill.sam4ir.priors import RestoredPriorProvider, build_prior_provider, write_ir1_snapshot


def _cfg(tmp_path, extra=()):
    return config_from_dict(apply_overrides({}, [
        f"output_dir={tmp_path / 'run'}", "model.name=nafnet_tiny", "sam4ir.enabled=true",
        "sam4ir.prior_source=restored", "sam4ir.refresh_every=3", "sam4ir.sgr.features=random_conv",
        f"priors.cache_dir={tmp_path / 'cache'}", "priors.num_masks=4", *extra]))


def _net(seed):
    torch.manual_seed(seed)
    net = create_backbone("nafnet_tiny")
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net


def test_provider_segments_ir1_output_of_the_latest_snapshot(tmp_path):
    cfg = _cfg(tmp_path)
    provider = build_prior_provider(cfg)
    assert isinstance(provider, RestoredPriorProvider)
    rng = np.random.default_rng(0)
    lq, gt = rng.random((24, 24, 3), dtype=np.float32), rng.random((24, 24, 3), dtype=np.float32)
    assert np.array_equal(provider.image_for_source(0, lq, gt), lq)  # before the first snapshot
    net = _net(1).eval()
    write_ir1_snapshot(net, cfg.output_dir)
    with torch.no_grad():
        expected = net(torch.from_numpy(lq.transpose(2, 0, 1))[None])[0].clamp(0, 1).permute(1, 2, 0).numpy()
    got = provider.image_for_source(0, lq, gt)
    assert np.abs(got - expected).max() <= 0.5 / 255 + 1e-6  # quantized like a saved image
    write_ir1_snapshot(_net(2), cfg.output_dir)  # a new snapshot is picked up
    assert not np.array_equal(provider.image_for_source(0, lq, gt), got)
    stack = provider.masks_for_pair(0, None, lq, gt)
    assert stack.shape == (4, 24, 24) and stack.max() == 1.0


class _Trainer:
    def __init__(self, cfg):
        self.cfg, self.accelerator = cfg, None


def test_method_publishes_ir1_every_k_steps(tmp_path):
    """refresh_every=3: IR1 is published at steps 3, 6, 9 only, each time with its weights then."""
    cfg = _cfg(tmp_path)
    method = build_sam4ir_method(cfg)
    snap = tmp_path / "run" / "priors" / "ir1_snapshot.safetensors"
    published = {}
    for step in range(11):
        with torch.no_grad():  # IR1 changes every step, as in training
            next(method.ir1.parameters()).add_(0.01)
        before = snap.read_bytes() if snap.exists() else None
        method.on_step_start(step, _Trainer(cfg))
        if snap.exists() and snap.read_bytes() != before:
            tensors, meta = read_safetensors(snap)
            published[step] = meta["step"]
            assert all(torch.equal(tensors[k], v) for k, v in method.ir1.state_dict().items())
    assert published == {3: "3", 6: "6", 9: "9"}


def _snapshot_step(path):
    return read_safetensors(path)[1]["step"] if path.exists() else None


@pytest.mark.parametrize("warmup,first", [(None, 3), (5, 5), (0, 0)])
def test_restored_priors_wait_for_the_warmup(tmp_path, warmup, first):
    """Before the warm-up step masks come from LQ (no snapshot, a stale one removed); the first
    snapshot is written at the warm-up step (default: the first refresh), then every K steps."""
    extra = [] if warmup is None else [f"sam4ir.restored_prior_warmup={warmup}"]
    cfg = _cfg(tmp_path, extra)
    snap = tmp_path / "run" / "priors" / "ir1_snapshot.safetensors"
    write_ir1_snapshot(_net(7), cfg.output_dir, step=99)  # left by an earlier run in this folder
    method = build_sam4ir_method(cfg)
    provider = build_prior_provider(cfg)
    lq, gt = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    steps = {}
    for step in range(first + 7):
        method.on_step_start(step, _Trainer(cfg))
        steps[step] = _snapshot_step(snap)
        if step < first:
            assert np.array_equal(provider.image_for_source(0, lq, gt), lq)
    assert [s for s in steps if steps[s] == str(s)] == [first, first + 3, first + 6]
    assert all(steps[s] is None for s in range(first))


def test_new_snapshot_is_detected_by_content_not_mtime(tmp_path):
    cfg = _cfg(tmp_path)
    provider = build_prior_provider(cfg)
    lq, gt = np.random.default_rng(1).random((2, 16, 16, 3), dtype=np.float32)
    path = write_ir1_snapshot(_net(1), cfg.output_dir, step=3)
    stat = path.stat()
    first = provider.image_for_source(0, lq, gt)
    write_ir1_snapshot(_net(2), cfg.output_dir, step=6)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime and size (e.g. a coarse clock)
    assert path.stat().st_size == stat.st_size
    assert not np.array_equal(provider.image_for_source(0, lq, gt), first)


def test_gt_source_is_a_plain_cached_provider(tmp_path):
    cfg = _cfg(tmp_path, ["sam4ir.prior_source=gt"])
    provider = build_prior_provider(cfg)
    assert provider.source == "gt" and not isinstance(provider, RestoredPriorProvider)
    rng = np.random.default_rng(3)
    lq = rng.random((24, 24, 3), dtype=np.float32)
    gt = np.zeros((24, 24, 3), np.float32)
    gt[:, 12:] = 1.0
    first = provider.masks_for_pair(0, None, lq, gt)
    assert provider.stats["computed"] == 1
    assert not np.array_equal(build_prior_provider(cfg, source="lq").masks_for_pair(0, None, lq, gt), first)

    again = build_prior_provider(cfg)  # another process or run: the disk cache answers, SAM never runs
    real = again.segmenter

    class NoSegmenting:
        fingerprint = real.fingerprint

        def __call__(self, image):
            raise AssertionError("segmented again instead of reading the cache")

    again._segmenter = NoSegmenting()
    assert np.array_equal(again.masks_for_pair(0, None, lq, gt), first)
    assert again.stats == {"lru_hits": 0, "cache_hits": 1, "computed": 0}
    assert np.array_equal(again.masks_for_pair(0, None, lq, gt), first) and again.stats["lru_hits"] == 1
