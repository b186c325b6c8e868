"""Issue 21, item 5: what restored priors cost (`samdistill priors plan`) and the rotating refresh
(`sam4ir.refresh_fraction`)."""
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from typer.testing import CliRunner

from samdistill.cli.main import app
from samdistill.data.paired import PairedImageDataset
from samdistill.sam4ir.config import SAM4IRConfig
from samdistill.sam4ir.method import build_sam4ir_method
from samdistill.sam4ir.priors import build_prior_provider
from samdistill.sam4ir.plan import plan_restored_priors, refresh_share
from samdistill.sam4ir.priors import SNAPSHOT_NAME, snapshot_digest
from samdistill.sam4ir.refresh import POINTER_NAME, pair_key, read_pointer

from test_restored_refresh import _Trainer, make_cfg, write_pairs  # noqa: E402  (same folder)


def _s4(**kw):
    return SAM4IRConfig.model_validate({"enabled": True, "prior_source": "restored", **kw})


def test_plan_counts_the_lq_pass_and_every_refresh():
    plan = plan_restored_priors(_s4(refresh_every=100), steps=2000, pairs=10)
    assert plan.lq_pass == 10 and [s for s, _ in plan.refreshes] == list(range(100, 2000, 100))
    assert plan.images == 10 + 19 * 10
    assert plan_restored_priors(_s4(refresh_every=100, restored_prior_warmup=0), 2000, 10).images == 20 * 10
    # a quarter per refresh after the first: shares [0::4], [1::4], ... of 10 pairs have 3, 3, 2, 2
    quarter = plan_restored_priors(_s4(refresh_every=100, refresh_fraction=0.25), 2000, 10)
    assert [n for _, n in quarter.refreshes[:6]] == [10, 3, 2, 2, 3, 3]
    assert quarter.images == 10 + 10 + sum(len(range(((s - 100) // 100) % 4, 10, 4)) for s in range(200, 2000, 100))
    assert "segment 200 images over 2000 steps" in plan.summary()


def test_shares_cover_every_pair_once_per_cycle():
    cfg = _s4(refresh_every=10, refresh_fraction=0.3)  # ceil(1/0.3) = 4 shares
    assert refresh_share(10, cfg) == (0, 1)  # the first refresh segments all
    shares = [refresh_share(s, cfg) for s in (20, 30, 40, 50)]
    assert shares == [(1, 4), (2, 4), (3, 4), (0, 4)]
    with pytest.raises(ValidationError, match="refresh_fraction"):
        _s4(refresh_fraction=0.5, restored_refresh="workers")
    with pytest.raises(ValidationError):
        _s4(refresh_fraction=0)


def test_rotating_refresh_segments_a_share_and_every_pair_stays_readable(tmp_path):
    cfg = make_cfg(tmp_path, ["sam4ir.refresh_fraction=0.5"])
    provider = build_prior_provider(cfg)  # before the datasets, as build_experiment builds
    train = PairedImageDataset(write_pairs(tmp_path / "train", 5), crop_size=16, prior_provider=provider)
    val = PairedImageDataset(write_pairs(tmp_path / "val", 2, seed=1), prior_provider=provider)
    method = build_sam4ir_method(cfg, train, val)
    out = Path(cfg.output_dir)
    made = []
    for step in range(0, 10):
        with torch.no_grad():  # IR1 changes between refreshes, so every snapshot has its own tag
            for p in method.ir1.parameters():
                p.add_(0.05 * torch.randn_like(p))
        method.on_step_start(step, _Trainer(cfg))
        if cfg.sam4ir.snapshot_due(step) or step == 0:
            made.append(method.last_refresh.images)
    plan = plan_restored_priors(cfg.sam4ir, 10, 7)
    assert made == [plan.lq_pass] + [n for _, n in plan.refreshes] == [7, 7, 3, 4]  # 7 pairs: step 6 [1::2] 3, step 9 [0::2] 4
    pointer = read_pointer(out / POINTER_NAME)
    assert pointer["tag"] == snapshot_digest(out / SNAPSHOT_NAME) and len(pointer["tags"]) == 2
    pairs = train.pairs + val.pairs
    newest = [i for i, p in enumerate(pairs) if method._refresher.cache.get(pair_key(p, pointer["tags"][0]),
                                                                              pointer["fingerprint"]) is not None]
    assert newest == [0, 2, 4, 6]  # the last refresh (step 9, share 0 of 2) made these; the others are older
    for ds in (train, val):  # read through the tags: a pair of the other share gets its step-6 masks
        for i in range(len(ds.pairs)):
            assert ds[i]["masks"].shape[0] == cfg.priors.num_masks


def test_priors_plan_command_prints_the_count(tmp_path):
    write_pairs(tmp_path / "data", 3)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""
sam4ir: {{enabled: true, prior_source: restored, refresh_every: 100, sgr: {{features: random_conv}}}}
train: {{steps: 1000}}
data:
  train: {{layout: restormer, root: {tmp_path / 'data'}}}
  val: {{layout: restormer, root: {tmp_path / 'data'}}}
priors: {{backend: offline}}
""")
    result = CliRunner().invoke(app, ["priors", "plan", "-c", str(cfg), "--time"])
    assert result.exit_code == 0, result.output
    assert "segment 30 images over 1000 steps" in result.output  # 3 pairs (val = train): LQ pass + 9 refreshes
    assert "s per image here" in result.output
    result = CliRunner().invoke(app, ["priors", "plan", "-c", str(cfg), "sam4ir.refresh_fraction=0.5"])
    assert "segment 18 images" in result.output and "2 shares" in result.output  # 3 + 3 + 4x2 + 4x1
    lq = CliRunner().invoke(app, ["priors", "plan", "-c", str(cfg), "sam4ir.prior_source=lq"])
    assert "3 images segmented once" in lq.output


def test_a_restored_run_logs_its_count_at_start_up(tmp_path, caplog):
    cfg = make_cfg(tmp_path, ["train.steps=10"])
    provider = build_prior_provider(cfg)  # before the datasets, as build_experiment builds
    train = PairedImageDataset(write_pairs(tmp_path / "train", 5), crop_size=16, prior_provider=provider)
    val = PairedImageDataset(write_pairs(tmp_path / "val", 2, seed=1), prior_provider=provider)
    with caplog.at_level("INFO", logger="samdistill"):
        build_sam4ir_method(cfg, train, val)
    # 7 pairs: the LQ pass, then refreshes at steps 3, 6, 9
    assert "segment 28 images over 10 steps" in caplog.text
