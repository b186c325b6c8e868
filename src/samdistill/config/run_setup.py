"""What a training run actually trains with, in a few lines: the recipe (baseline, SAM4IR on, a
GoodSAM stage), the mask generator and SGR's feature extractor, each stand-in called one.

Read from the resolved config with the same rules that build the run (`priors.config.
resolved_backend`, SAM4IR's `needs_masks` conditions), so it names what runs, not what the config
seems to ask for. The trainer logs these lines at start-up and writes them to `<run>/setup.txt`:
a run on the offline segmenter or on random SGR features must never pass for a SAM / VGG run.
A reading of the config alone (it sits in the config layer), so the engine can call it.
"""
from __future__ import annotations

from typing import Any

from samdistill.priors.config import resolved_backend

SETUP_FILE = "setup.txt"

_PRIOR_SOURCES = {"restored": "masks of IR1's restored images, refreshed", "lq": "masks of the degraded inputs",
                  "gt": "masks of the clean targets (privileged)"}


def describe_setup(cfg: Any) -> list[str]:
    """`key: value` lines for the start-up summary; [] for a config this does not know."""
    task = getattr(cfg, "task", None)
    if task == "panoramic":
        return _panoramic(cfg)
    if task == "restoration" and hasattr(cfg, "sam4ir"):
        return _restoration(cfg)
    return []


def uses_priors(cfg: Any) -> bool:
    """Whether the run segments images (the conditions under which the methods build a provider)."""
    if cfg.task == "panoramic":
        return cfg.goodsam.stage != "source"
    return cfg.sam4ir.uses_masks


def _restoration(cfg: Any) -> list[str]:
    s4 = cfg.sam4ir
    if not s4.enabled:
        return ["recipe: baseline, SAM4IR off (IR1 + reconstruction loss; no SAM priors)"]
    parts = ["IR2 cascade" if s4.cascade else "no IR2"]
    if s4.cascade:
        parts += ["SPF" if s4.spf.enabled else "SPF off",
                  f"SPD lambda1={s4.spd.weight:g}" if s4.spd.enabled else "SPD off",
                  f"SGR lambda2={s4.sgr.weight:g}" if s4.sgr.enabled else "SGR off"]
    lines = [f"recipe: SAM4IR on ({', '.join(parts)})"]
    if uses_priors(cfg):
        lines.append(f"mask generator: {describe_mask_generator(cfg.priors)}; {_PRIOR_SOURCES[s4.prior_source]}")
    if s4.cascade and s4.sgr.enabled:
        lines.append(f"SGR features: {describe_sgr_features(s4.sgr)}")
    return lines


def _panoramic(cfg: Any) -> list[str]:
    stage = cfg.goodsam.stage
    if stage == "source":
        return ["recipe: GoodSAM, stage source (labeled source images; no SAM priors)"]
    return [f"recipe: GoodSAM, stage {stage} (unlabeled panoramas, teacher assistant + masks)",
            f"mask generator: {describe_mask_generator(cfg.priors)}"]


def describe_mask_generator(priors_cfg: Any) -> str:
    backend = resolved_backend(priors_cfg)
    if backend == "offline":
        off = priors_cfg.offline
        return (f"offline {off.method} segmenter (stand-in for SAM: classical segment-everything, no weights"
                f"{'; priors.backend=auto without priors.sam.checkpoint' if priors_cfg.backend == 'auto' else ''})")
    if backend == "world":
        return "the street world's exact masks (an ideal segmenter, for rendered images only)"
    names = {"sam": "SAM", "sam2": "SAM 2", "sam3": "SAM 3"}
    return f"{names[backend]} ({getattr(priors_cfg, backend).checkpoint})"


def describe_sgr_features(sgr_cfg: Any) -> str:
    kind = sgr_cfg.features
    if kind == "random_conv":
        return "random_conv (stand-in for VGG: frozen random convolutions, no pretrained semantics)"
    if kind == "street_conv":
        return f"street_conv (stand-in for VGG trained on the street world's labels: {sgr_cfg.vgg_weights})"
    return f"{kind} ({sgr_cfg.vgg_weights})"
