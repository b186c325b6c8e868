"""The segmenter interface, and choosing SAM or the offline stand-in from the config.

A segmenter maps one image (`np.float32 (H, W, 3)` in [0, 1]) to a `MaskSet`. Its
`fingerprint()` (backend, checkpoint hash, every parameter that changes the output) is part of
the mask-cache key, so changing any of them can never return stale masks.
"""
from __future__ import annotations

import logging


from samdistill.priors.config import PriorsConfig
from samdistill.priors.base import Segmenter, SegmenterBase, check_image, segment_batch  # noqa: F401 (re-exported)

logger = logging.getLogger("samdistill")

OFFLINE_FALLBACK_MESSAGE = (
    "no SAM checkpoint configured: using the offline {method} segmenter "
    "(a classical stand-in; set priors.sam.checkpoint=... to use SAM)"
)


def uses_sam(priors_cfg: PriorsConfig) -> bool:
    """Which backend `build_segmenter` picks, without building anything."""
    if priors_cfg.backend == "auto":
        return priors_cfg.sam.checkpoint is not None
    return priors_cfg.backend == "sam"


def build_segmenter(priors_cfg: PriorsConfig) -> Segmenter:
    """backend auto: SAM if `priors.sam.checkpoint` is set, else the offline segmenter (logged)."""
    if uses_sam(priors_cfg):
        if priors_cfg.sam.checkpoint is None:
            from samdistill.config.loader import ConfigError

            raise ConfigError(
                "priors.backend=sam needs priors.sam.checkpoint (a local Hugging Face SAM directory "
                "or an official sam_vit_*.pth file); or use priors.backend=offline"
            )
        return _sam_segmenter_class()(priors_cfg.sam)
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
    model = " ".join(str(fp[k]) for k in ("variant", "model_type") if fp.get(k))
    return f"SAM ({model})" if model else "SAM"
