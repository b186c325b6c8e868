"""The segmenter interface, and choosing SAM or the offline stand-in from the config.

A segmenter maps one image (`np.float32 (H, W, 3)` in [0, 1]) to a `MaskSet`. Its
`fingerprint()` (backend, checkpoint hash, every parameter that changes the output) is part of
the mask-cache key, so changing any of them can never return stale masks.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from samdistill.priors.config import PriorsConfig, resolved_backend  # noqa: F401 (re-exported)
from samdistill.priors.base import Segmenter, SegmenterBase, check_image, segment_batch  # noqa: F401 (re-exported)

logger = logging.getLogger("samdistill")

OFFLINE_FALLBACK_MESSAGE = (
    "no SAM checkpoint configured: using the offline {method} segmenter "
    "(a classical stand-in; set priors.sam.checkpoint=... to use SAM)"
)


@dataclass(frozen=True)
class BackendInfo:
    """What `priors.backend: <name>` is, what it needs, and the keys of its cache fingerprint."""

    name: str
    description: str
    config: str  # the config section holding its parameters
    requires: tuple[str, ...]  # Python modules it imports
    transformers_class: str | None  # the transformers model class it needs, if any
    fingerprint_fields: tuple[str, ...]
    note: str = ""  # which fields are conditional

    def missing(self) -> list[str]:
        """What is not installed ([] = available)."""
        gone = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if not gone and self.transformers_class:
            import transformers

            if not hasattr(transformers, self.transformers_class):
                gone.append(f"transformers.{self.transformers_class} (transformers {transformers.__version__})")
        return gone


_SAM_FIELDS = ("backend", "model_type", "variant", "image_size", "checkpoint_sha256", "dtype", "amg")
# Kept equal to what each segmenter's fingerprint() returns by tests/priors/test_backends.py.
BACKENDS: dict[str, BackendInfo] = {b.name: b for b in (
    BackendInfo("sam", "SAM / SAM-HQ: official sam_vit_{b,l,h}_*.pth (SAM-HQ's sam_hq_vit_*.pth) or a Hugging Face "
                "SamModel / SamHQModel folder; our automatic mask generator at segment-anything's defaults",
                "priors.sam", ("transformers",), "SamModel", _SAM_FIELDS),
    BackendInfo("sam2", "SAM 2 / 2.1: official sam2.1_hiera_*.pt / sam2_hiera_*.pt (converted on load) or a Hugging "
                "Face Sam2Model folder; our automatic mask generator at SAM 2's "
                "defaults (priors.sam2.amg_preset: sam2)", "priors.sam2", ("transformers",), "Sam2Model",
                _SAM_FIELDS[:-1] + ("multimask_output", "amg")),
    BackendInfo("sam3", "SAM 3: a Hugging Face Sam3Model folder (with its CLIP tokenizer) prompted with class names "
                "(priors.sam3.classes, default the Cityscapes 19); every mask carries a class id and score",
                "priors.sam3", ("transformers", "tokenizers"), "Sam3Model",
                ("backend", "model_type", "image_size", "checkpoint_sha256", "dtype", "classes", "score_threshold",
                 "mask_threshold"), "checkpoint_sha256: config.json, weights and tokenizer files"),
    BackendInfo("offline", "classical segment-everything stand-in (Felzenszwalb or SLIC), no weights",
                "priors.offline", ("skimage",), None,
                ("backend", "method", "scale", "sigma", "min_size", "extra_scales", "n_segments", "compactness",
                 "start_label", "skimage", "version"),
                "only the chosen method's parameters: felzenszwalb scale, sigma, min_size (extra_scales when "
                "set); slic n_segments, compactness, sigma, start_label"),
    BackendInfo("world", "the street world's exact object / part masks (rendered images only)", "priors.world",
                (), None, ("backend", "index", "parts", "min_area", "min_correlation", "min_margin", "version"),
                "index: sha256 of the world_index.npz files read"),
)}


# Backends that read a checkpoint from their own config section (priors.<name>.checkpoint).
CHECKPOINT_BACKENDS = ("sam", "sam2", "sam3")


def checkpoint_conflicts(priors_cfg: PriorsConfig) -> list[str]:
    """A checkpoint set for a backend that will not run. An error rather than a quiet switch:
    `priors.backend` pinned in a config (the quickstart pins `offline`) and a checkpoint given on the
    command line contradict each other, and guessing either way trains on masks the user did not ask
    for (a run on the offline stand-in believed to use SAM is what this prevents)."""
    used = resolved_backend(priors_cfg)
    chosen = priors_cfg.backend if priors_cfg.backend != "auto" else f"auto (here: {used})"
    return [f"priors.{name}.checkpoint: set ({checkpoint}), but priors.backend={chosen} does not use it; "
            f"set priors.backend={name} to segment with it, or remove priors.{name}.checkpoint"
            for name in CHECKPOINT_BACKENDS
            if (checkpoint := getattr(priors_cfg, name).checkpoint) and name != used]


def uses_sam(priors_cfg: PriorsConfig) -> bool:
    """Which backend `build_segmenter` picks, without building anything."""
    if priors_cfg.backend == "auto":
        return priors_cfg.sam.checkpoint is not None
    return priors_cfg.backend == "sam"


def build_segmenter(priors_cfg: PriorsConfig) -> Segmenter:
    """backend auto: SAM if `priors.sam.checkpoint` is set, else the offline segmenter (logged).
    A checkpoint set for another backend than the one that runs is a ConfigError."""
    conflicts = checkpoint_conflicts(priors_cfg)
    if conflicts:
        from samdistill.config.loader import ConfigError

        raise ConfigError("; ".join(conflicts))
    if uses_sam(priors_cfg):
        if priors_cfg.sam.checkpoint is None:
            from samdistill.config.loader import ConfigError

            raise ConfigError(
                "priors.backend=sam needs priors.sam.checkpoint (a local Hugging Face SAM directory "
                "or an official sam_vit_*.pth file); or use priors.backend=offline"
            )
        return _sam_segmenter_class()(priors_cfg.sam)
    if priors_cfg.backend == "sam2":
        from samdistill.priors.sam2.segmenter import Sam2Segmenter  # lazily: transformers

        return Sam2Segmenter(priors_cfg.sam2)
    if priors_cfg.backend == "sam3":
        from samdistill.priors.sam3.segmenter import Sam3Segmenter  # lazily: transformers

        return Sam3Segmenter(priors_cfg.sam3)
    if priors_cfg.backend == "world":
        from samdistill.priors.world import WorldSegmenter

        return WorldSegmenter(priors_cfg.world)
    from samdistill.priors.offline import OfflineSegmenter

    if priors_cfg.backend == "auto":
        _log_fallback(priors_cfg.offline.method)
    return OfflineSegmenter(priors_cfg.offline)


_fallback_warned = False


def _log_fallback(method: str) -> None:
    # A WARNING the first time in a process, INFO after (each DataLoader worker builds its own).
    global _fallback_warned
    logger.log(logging.INFO if _fallback_warned else logging.WARNING, OFFLINE_FALLBACK_MESSAGE.format(method=method))
    _fallback_warned = True


def _sam_segmenter_class() -> type:
    # Imported lazily: SAM pulls in transformers, which the offline path never needs.
    from samdistill.priors.sam.segmenter import SamSegmenter

    return SamSegmenter


def describe_fingerprint(fp: dict) -> str:
    """One human line from a segmenter fingerprint: SAM (which checkpoint) or the offline one."""
    if fp.get("backend") == "offline":
        return f"offline {fp.get('method')} segmenter (classical stand-in, not SAM)"
    if fp.get("backend") == "world":
        return "street world's exact masks (an ideal segmenter, rendered images only)"
    if fp.get("backend") == "sam2":
        return f"SAM 2 ({fp.get('variant')})" if fp.get("variant") else "SAM 2"
    if fp.get("backend") == "sam3":
        return f"SAM 3 ({len(fp.get('classes') or [])} concept prompts)"
    model = " ".join(str(fp[k]) for k in ("variant", "model_type") if fp.get(k))
    return f"SAM ({model})" if model else "SAM"
