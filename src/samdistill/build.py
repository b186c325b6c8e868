"""Config -> (method, train loader, val loader) -> a trained run: the one place that picks the
training method (`build_experiment`) and the one that trains a config (`train_experiment`, used by
`samdistill train`, the demos and the benchmarks)."""
from __future__ import annotations

import math
from typing import Any

from accelerate.utils import set_seed

from samdistill.config.experiment import ExperimentConfig
from samdistill.engine.method import Method
from samdistill.methods.plain import PlainRestoration


def build_prior_provider(cfg: ExperimentConfig) -> Any:
    """The restoration run's prior provider (SAM4IR's masks), None when nothing uses masks."""
    if not cfg.sam4ir.uses_masks:
        return None
    from samdistill.sam4ir.priors import build_prior_provider as sam4ir_provider

    return sam4ir_provider(cfg)


def build_loaders(cfg: ExperimentConfig, prior_provider: Any = None) -> tuple[Any, Any]:
    """Training and validation loaders over datasets built with `prior_provider` (both sets)."""
    from samdistill.data.loader import build_dataloader  # heavy imports only when training

    train = build_dataloader(cfg.data.train, cfg.data, train=True, prior_provider=prior_provider, seed=cfg.seed)
    val = None
    if cfg.data.val is not None:
        val = build_dataloader(cfg.data.val, cfg.data, train=False, prior_provider=prior_provider, seed=cfg.seed)
    return train, val


def build_method(cfg: ExperimentConfig, train_dataset: Any = None, val_dataset: Any = None) -> Method:
    """The baseline (IR1 alone) or SAM4IR; initial weights depend only on `cfg.seed`, except IR1's
    when `model.init` names weights to start from."""
    set_seed(cfg.seed)
    if not cfg.sam4ir.enabled:
        method: Method = PlainRestoration(cfg.model.name, cfg.model.args, cfg.train.loss)
    else:
        # Hook for SAM4IR: IR1, IR2 + SPF, the relation network; the datasets (built with the
        # prior provider, so batches carry "masks") are the ones a restored-prior refresh re-segments.
        from samdistill.sam4ir.method import build_sam4ir_method

        method = build_sam4ir_method(cfg, train_dataset, val_dataset)
    if cfg.model.init:
        init_shipped_model(method, cfg.model.init, cfg.model.name, cfg.model.args)
    return method


def init_shipped_model(method: Method, path: str, backbone: str, args: dict[str, Any]) -> None:
    """Load pretrained weights (any format `models.pretrained` reads) into the method's IR1, the
    network that ships (the same module in the plain and the SAM4IR method); strict: every key and
    shape must fit, else a CheckpointError names the file and the keys."""
    from samdistill.models.pretrained import load_into

    load_into(method.shipped_model(), path, backbone, args)


def build_experiment(cfg: ExperimentConfig) -> tuple[Method, Any, Any]:
    """Both recipes in one order: config -> prior provider -> datasets (given the provider) ->
    loaders (`data.loader.make_loader`) -> method."""
    if cfg.task == "panoramic":
        if cfg.model.init:
            from samdistill.core.errors import ConfigError

            raise ConfigError(f"model.init ({cfg.model.init}) sets a restoration network's starting weights; a "
                              "panoramic (GoodSAM) run starts its networks from goodsam.student.init / goodsam.ta.init")
        from samdistill.goodsam.build import build_goodsam_experiment

        return build_goodsam_experiment(cfg)
    train_loader, val_loader = build_loaders(cfg, build_prior_provider(cfg))
    method = build_method(cfg, train_loader.dataset, getattr(val_loader, "dataset", None))
    return method, train_loader, val_loader


def train_experiment(cfg: ExperimentConfig, *, resume: bool = False, epochs: int | None = None) -> dict[str, Any]:
    """Build the config's method and loaders and train them to the end; returns the trainer's final
    record (`Trainer.fit`). `epochs` replaces `train.steps` by that many passes over the training set
    (each process taking its share). Checking the config and preparing the output folder are the
    caller's (`samdistill train` does both; the demos write into folders of their own)."""
    from accelerate import PartialState

    from samdistill.engine.trainer import Trainer

    method, train_loader, val_loader = build_experiment(cfg)
    if epochs is not None:
        cfg.train.steps = steps_for_epochs(train_loader, epochs, PartialState().num_processes)
    return Trainer(cfg, method, train_loader, val_loader).fit(resume=resume)


def steps_for_epochs(train_loader: Any, epochs: int, num_processes: int = 1) -> int:
    """Optimizer steps of `epochs` passes over the data, each process taking its share."""
    per_epoch = math.ceil(len(train_loader) / max(1, num_processes))
    if per_epoch == 0:
        raise ValueError("the training loader yields no batch (batch size larger than the data set?)")
    return epochs * per_epoch
