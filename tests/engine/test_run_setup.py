"""Every training run that uses priors says at start-up, and keeps in <run>/setup.txt, which mask
generator and which SGR features it uses, "stand-in" where it is one; the recipe says whether SAM4IR
is on (issue 22, items 2 and 8)."""
import logging

from accelerate.state import AcceleratorState
from accelerate.utils import set_seed

from _engine_fixtures import NoisyPlain, loaders, make_cfg
from samdistill.config.loader import config_from_dict
from samdistill.engine.trainer import Trainer
from samdistill.config.run_setup import describe_setup


def _restoration(**sections):
    base = {"model": {"name": "nafnet_tiny", "args": {}}}
    base.update(sections)
    return config_from_dict(base)


def test_baseline_says_sam4ir_is_off_and_names_no_generator():
    lines = describe_setup(_restoration())
    assert lines == ["recipe: baseline, SAM4IR off (IR1 + reconstruction loss; no SAM priors)"]


def test_quickstart_like_sam4ir_names_both_stand_ins():
    cfg = _restoration(sam4ir={"enabled": True, "sgr": {"features": "random_conv"}}, priors={"backend": "offline"})
    lines = describe_setup(cfg)
    assert lines[0].startswith("recipe: SAM4IR on (IR2 cascade, SPF, SPD lambda1=0.005, SGR lambda2=200)")
    generator = next(ln for ln in lines if ln.startswith("mask generator: "))
    features = next(ln for ln in lines if ln.startswith("SGR features: "))
    assert "offline felzenszwalb" in generator and "stand-in" in generator
    assert "random_conv" in features and "stand-in" in features


def test_sam_and_vgg_are_named_with_their_files_and_no_stand_in():
    cfg = _restoration(sam4ir={"enabled": True, "sgr": {"vgg_weights": "/w/vgg16.pth"}},
                       priors={"sam": {"checkpoint": "/w/sam_vit_b.pth"}})  # backend auto -> sam
    lines = describe_setup(cfg)
    assert "mask generator: SAM (/w/sam_vit_b.pth); masks of IR1's restored images, refreshed" in lines
    assert "SGR features: vgg16 (/w/vgg16.pth)" in lines
    assert not any("stand-in" in ln for ln in lines)


def test_auto_without_a_checkpoint_says_why_it_fell_back():
    cfg = _restoration(sam4ir={"enabled": True, "sgr": {"enabled": False}})
    generator = next(ln for ln in describe_setup(cfg) if ln.startswith("mask generator: "))
    assert "stand-in" in generator and "without priors.sam.checkpoint" in generator
    assert not any(ln.startswith("SGR features") for ln in describe_setup(cfg))


def test_the_trainer_prints_the_setup_and_writes_it_to_the_run_folder(tmp_path, caplog):
    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = make_cfg(str(tmp_path), steps=2, log_every=1)
    cfg.sam4ir.enabled = True
    cfg.sam4ir.sgr.features = "random_conv"
    cfg.priors.backend = "offline"
    set_seed(cfg.seed)
    with caplog.at_level(logging.INFO, logger="samdistill"):
        Trainer(cfg, NoisyPlain(), *loaders()).fit()
    summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("training on"))
    written = (tmp_path / "setup.txt").read_text().splitlines()
    assert written == describe_setup(cfg)
    for line in written:
        assert f"\n  {line}" in summary
    assert sum("stand-in" in ln for ln in written) == 2
