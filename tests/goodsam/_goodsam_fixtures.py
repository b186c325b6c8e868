"""GoodSAM test configs on the tiny world (tests/goodsam/conftest.py) and a one-call training run."""
from samdistill.build import build_experiment
from samdistill.config.experiment import ExperimentConfig
from samdistill.engine.trainer import Trainer


def make_cfg(world, out, stage, steps=2, **goodsam):
    g = {
        "stage": stage, "student": {"size": "tiny"}, "ta": {"size": "tiny"},
        "windows": {"window": 32, "stride": 24, "wrap": True},
        "data": {"source": {"layout": "cityscapes", "root": str(world / "pinhole"), "split": "train"},
                 "target": {"layout": "densepass", "root": str(world / "pano"), "split": "train"},
                 "val": {"layout": "densepass", "root": str(world / "pano"), "split": "val"},
                 "source_crop": [32, 32], "batch_size": 2, "target_batch_size": 2, "num_masks": 8},
    }
    for key, value in goodsam.items():
        g[key] = {**g[key], **value} if isinstance(value, dict) and isinstance(g.get(key), dict) else value
    return ExperimentConfig(
        task="panoramic", output_dir=str(out), seed=0,
        train={"steps": steps, "val_every": 0, "save_every": 0, "log_every": 1, "deterministic": True,
               "tensorboard": False, "progress": False, "optimizer": {"name": "adamw", "lr": 1e-3}},
        priors={"backend": "world", "world": {"roots": [str(world / "pano")]}, "cache_dir": str(out / "masks")},
        goodsam=g)


def run(cfg, resume=False):
    method, train, val = build_experiment(cfg)
    result = Trainer(cfg, method, train, val).fit(resume=resume)
    return method, result
