"""`SamSegmenter`: SAM's automatic mask generator behind the project's segmenter contract.

`SamSegmenter(sam_cfg)(image) -> MaskSet` with `image` np.float32 (H, W, 3) in [0, 1];
`fingerprint()` identifies the result (backend, model, checkpoint hashes, every AMG parameter,
dtype) for the mask cache. The model loads on first use, so a fully cached run never loads it;
checkpoint hashes are computed once per (path, mtime, size) per process.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from samdistill.core.errors import ConfigError
from samdistill.priors.config import SAMConfig
from samdistill.priors.maskset import MaskSet
from samdistill.priors.sam.amg import MaskGenerator
from samdistill.priors.sam.loading import SamInfo, inspect_sam, load_sam
from samdistill.priors.sam.predictor import SamPredictor

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached by (resolved path, mtime, size)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def resolve_device(name: str, key: str = "priors.sam.device") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"{key}: {name!r} is not a device ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key}: {name!r} requested but CUDA is not available")
    return device


def checkpoint_settings(cfg, section: str, missing: str) -> tuple[Path, torch.device, torch.dtype]:
    """(checkpoint path, device, dtype) of a SAM-family config section; `missing` says what to configure."""
    if not cfg.checkpoint:
        raise ConfigError(f"{section}.checkpoint: {missing}")
    return Path(cfg.checkpoint).expanduser(), resolve_device(cfg.device, f"{section}.device"), DTYPES[cfg.dtype]


class SamSegmenter:
    def __init__(self, sam_cfg: SAMConfig):
        self.cfg = sam_cfg
        self.path, self.device, self.dtype = checkpoint_settings(
            sam_cfg, "priors.sam", "no SAM checkpoint configured (a Hugging Face SAM directory or an official "
            "sam_vit_*.pth file)")
        self._info: SamInfo | None = None
        self._generator: MaskGenerator | None = None

    @property
    def info(self) -> SamInfo:
        if self._info is None:
            self._info = inspect_sam(self.path)
        return self._info

    @property
    def generator(self) -> MaskGenerator:
        if self._generator is None:
            model, self._info = load_sam(self.path, device=self.device)
            self._generator = MaskGenerator(SamPredictor(model, self.dtype), self.cfg.amg)
        return self._generator

    def __call__(self, image: np.ndarray) -> MaskSet:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(f"SamSegmenter expects an (H, W, 3) RGB image, got shape {image.shape}")
        return self.generator(image.astype(np.float32, copy=False))

    def batch(self, images: list[np.ndarray]) -> list[MaskSet]:
        """One MaskSet per image (SAM encodes one image at a time here)."""
        return [self(image) for image in images]

    def fingerprint(self) -> dict[str, Any]:
        info = self.info
        files = {str(f.relative_to(info.path) if info.source == "hf" else f.name): file_sha256(f)
                 for f in info.files}
        return {
            "backend": "sam",
            "model_type": info.model_type,
            "variant": info.variant,
            "image_size": info.image_size,
            "checkpoint_sha256": files,
            "dtype": self.cfg.dtype,
            "amg": self.cfg.amg.model_dump(),
        }
