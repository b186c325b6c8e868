"""Check a whole experiment config before anything is built or read: every name, path and
combination, so that all of a config's mistakes are reported at once, one line each, instead of
one traceback per attempt, minutes into a run.

`preflight(cfg)` returns the problems (`"key: what is wrong"`); `check_config(cfg)` raises one
`ConfigError` listing them. Only what a run of `cfg.task` uses is checked (a restoration run
ignores the goodsam section, SAM priors matter only when something consumes them).
"""
from __future__ import annotations

import difflib
import inspect
import typing
from pathlib import Path
from typing import Any, Callable, Optional

from samdistill.core.errors import ConfigError

EMBEDDED_SEG_ROOTS = ("embedded-street", "embedded-pano", "embedded-pano-dev")


def check_config(cfg: Any) -> None:
    problems = preflight(cfg)
    if problems:
        lines = "\n  ".join(problems)
        raise ConfigError(f"the config has {len(problems)} problem(s); nothing was run:\n  {lines}")


def preflight(cfg: Any) -> list[str]:
    if cfg.task == "panoramic":
        return _panoramic(cfg)
    return _restoration(cfg)


# ------------------------------------------------------------------ restoration (baseline, SAM4IR)

def _restoration(cfg: Any) -> list[str]:
    problems = _backbone(cfg.model.name, cfg.model.args, cfg.train.loss.name)
    problems += _path("model.init", cfg.model.init)
    problems += _paired_dataset("data.train", cfg.data.train)
    if cfg.data.val is not None:
        problems += _paired_dataset("data.val", cfg.data.val)
    s4 = cfg.sam4ir
    if s4.enabled:
        if s4.sgr.enabled and s4.sgr.features != "random_conv":
            if s4.sgr.vgg_weights is None:
                problems.append(f"sam4ir.sgr.vgg_weights: not set, but sam4ir.sgr.features={s4.sgr.features} needs "
                                "pretrained weights (torchvision format); or set sam4ir.sgr.features=random_conv")
            else:
                problems += _path("sam4ir.sgr.vgg_weights", s4.sgr.vgg_weights)
        problems += _priors(cfg.priors)
    return problems


def _backbone(name: str, args: dict[str, Any], loss: str) -> list[str]:
    from samdistill.models.registry import backbone_factory, list_backbones

    known = list_backbones("restoration")
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [f"model.name: unknown network {name!r}{hint}; `samdistill models` lists them: {', '.join(known)}"]
    factory = backbone_factory(name)
    problems = _arguments(f"model.args ({name})", factory, args)
    cls = _built_class(factory)
    if loss == "rcdnet_multistage" and cls is not None and not hasattr(cls, "forward_stages"):
        problems.append(f"train.loss.name: rcdnet_multistage needs a backbone with forward_stages (rcdnet, "
                        f"rcdnet_tiny); {name!r} has none")
    return problems


def _arguments(where: str, factory: Callable, args: dict[str, Any]) -> list[str]:
    """Keys the constructor does not take, and required ones missing (a factory taking **kwargs
    is checked against the class it builds)."""
    params = _parameters(factory)
    if params is None:
        return []
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if accepts_any:
        cls = _built_class(factory)
        inner = _parameters(cls) if cls is not None else None
        if inner is None or any(p.kind is p.VAR_KEYWORD for p in inner.values()):
            return []
        names = set(inner) - {"self"}
        required: set[str] = set()  # the factory may fill them in
    else:
        names = set(params)
        required = {k for k, p in params.items() if p.default is p.empty
                    and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    problems = []
    unknown = sorted(set(args) - names)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; it takes {', '.join(sorted(names)) or 'none'}")
    missing = sorted(required - set(args))
    if missing:
        problems.append(f"{where}: missing required key(s) {', '.join(missing)}")
    return problems


def _parameters(fn: Any) -> Optional[dict[str, inspect.Parameter]]:
    try:
        params = dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    params.pop("self", None)
    return params


def _built_class(factory: Callable) -> Optional[type]:
    """The class a registered factory builds: the factory itself, or its return annotation."""
    if inspect.isclass(factory):
        return factory
    try:
        built = typing.get_type_hints(factory).get("return")
    except Exception:  # noqa: BLE001 - an unresolvable annotation only skips this check
        return None
    return built if inspect.isclass(built) else None


def _paired_dataset(where: str, ds: Any) -> list[str]:
    if ds.layout == "embedded":
        from samdistill.data.embedded import BENCHMARKS

        if ds.name not in BENCHMARKS:
            return [f"{where}.name: unknown embedded benchmark {ds.name!r}; choose one of {', '.join(BENCHMARKS)}"]
        return []
    problems = _path(f"{where}.root", ds.root, folder=True)
    if not problems and ds.layout == "folders":
        root = Path(ds.root).expanduser()
        for key in ("lq_dir", "gt_dir"):
            problems += _path(f"{where}.{key}", str(root / getattr(ds, key)), folder=True)
    return problems


def _priors(priors: Any) -> list[str]:
    """The backend that runs has its checkpoint; no checkpoint is set for a backend that does not run
    (it would be ignored); every checkpoint that is set exists, whatever the backend."""
    from samdistill.priors.segmenter import CHECKPOINT_BACKENDS, checkpoint_conflicts, resolved_backend

    problems = checkpoint_conflicts(priors)
    used = resolved_backend(priors)
    if used in CHECKPOINT_BACKENDS and not getattr(priors, used).checkpoint:
        problems.append(f"priors.{used}.checkpoint: not set, but priors.backend={used} needs one "
                        f"({_CHECKPOINT_KINDS[used]}); or set priors.backend=offline")
    for name in CHECKPOINT_BACKENDS:
        problems += _path(f"priors.{name}.checkpoint", getattr(priors, name).checkpoint)
    return problems


_CHECKPOINT_KINDS = {"sam": "a local Hugging Face SAM folder or an official sam_vit_*.pth",
                     "sam2": "a local Hugging Face Sam2Model folder or an official sam2.1_hiera_*.pt",
                     "sam3": "a local Hugging Face Sam3Model folder with its tokenizer files"}


# ------------------------------------------------------------------ panoramic (GoodSAM)

def _panoramic(cfg: Any) -> list[str]:
    g = cfg.goodsam
    problems: list[str] = []
    for net in ("student", "ta"):
        spec = getattr(g, net)
        problems += _path(f"goodsam.{net}.pretrained", spec.pretrained, folder=True)
        problems += _path(f"goodsam.{net}.init", spec.init)
    for name in type(g.data).model_fields:
        ds = getattr(g.data, name)
        if hasattr(ds, "root") and ds.root not in EMBEDDED_SEG_ROOTS:
            problems += _path(f"goodsam.data.{name}.root", ds.root, folder=True)
    problems += _priors(cfg.priors)
    return problems


# ------------------------------------------------------------------ paths

def _path(where: str, value: Optional[str], folder: bool = False) -> list[str]:
    if not value:
        return []
    path = Path(value).expanduser()
    if not path.exists():
        return [f"{where}: {path} does not exist"]
    if folder and not path.is_dir():
        return [f"{where}: {path} is not a folder"]
    return []
