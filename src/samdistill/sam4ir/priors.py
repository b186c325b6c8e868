"""Where SAM4IR's priors M come from: `lq` / `gt` (segmented once, cached) or `restored`.

`restored` is the paper's eq. 2, M = SAM(IR1(LQ)): the masks of IR1's *output*. IR1 changes
while it trains, so from `restored_prior_warmup` on, every `refresh_every` steps, the method
writes a snapshot of IR1's weights to `<output_dir>/priors/ir1_snapshot.safetensors`; before
the first one the provider segments the LQ image (an untrained IR1's output carries nothing).
Each data-loading process re-reads the snapshot when the content digest in its safetensors
metadata changes (not its mtime: coarse or copied timestamps would hide a new snapshot) and
segments IR1's restoration of the full image. The restored pixels change with the snapshot, so
the content-hashed mask cache never serves masks of an older IR1.

That is `sam4ir.restored_refresh: workers`. With `processes` (the default, `sam4ir/refresh.py`)
the training processes restore and segment the whole set at each refresh and point
`priors/restored_masks.json` at the stored masks; the provider then only reads them, keyed by
(pair, snapshot), and never runs IR1 or the segmenter in a worker. Without such a pointer (no
refresh yet, or a caller outside training) it falls back to the per-item path above.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import safe_open

from samdistill.core.errors import CheckpointError
from samdistill.core.safetensors_io import atomic_save_file, read_safetensors
from samdistill.models.registry import create_backbone
from samdistill.core.errors import DataError
from samdistill.priors.encodings import to_channels
from samdistill.priors.provider import PriorProvider
from samdistill.priors.selection import PackedCandidates

SNAPSHOT_NAME = "priors/ir1_snapshot.safetensors"
POINTER_NAME = "priors/restored_masks.json"  # the current refresh's tag (restored_refresh: processes)
MASKS_DIR = "priors/masks"


def pair_key(pair, tag: str) -> str:
    """Cache key of a pair's masks at one snapshot: the files (and boxes) it is read from + tag."""
    ident = repr((str(pair.lq), pair.lq_box, str(pair.gt), pair.gt_box, tag))
    return hashlib.sha256(ident.encode()).hexdigest()


def read_pointer(path: Path) -> Optional[dict]:
    """The current {"tag", "step", "fingerprint"}, or None before any refresh of this run."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


class RestoredPriorProvider(PriorProvider):
    """Segments IR1(LQ) with the latest IR1 snapshot (before the first one exists: LQ itself)."""

    def __init__(self, priors_cfg, snapshot: str | Path, backbone: str, backbone_args: dict,
                 pointer: Optional[str | Path] = None, **kw):
        """`pointer`: the refresh's `restored_masks.json` (restored_refresh: processes), or None."""
        super().__init__(priors_cfg, source="restored", **kw)
        self.snapshot = Path(snapshot)
        self.pointer = Path(pointer) if pointer is not None else None
        self.backbone, self.backbone_args = backbone, dict(backbone_args)
        self._net: Optional[nn.Module] = None
        self._stamp: Optional[str] = None

    def _current_net(self) -> Optional[nn.Module]:
        stamp = snapshot_digest(self.snapshot)
        if stamp is None:
            return None
        if stamp != self._stamp:
            state, meta = read_safetensors(self.snapshot)
            if self._net is None:
                self._net = create_backbone(self.backbone, **self.backbone_args).eval()
            self._net.load_state_dict(state)
            self._stamp = meta.get("digest", "")  # of what was loaded (the file may have been replaced since)
        return self._net

    def image_for_source(self, index: int, lq_img: np.ndarray, gt_img: np.ndarray) -> np.ndarray:
        net = self._current_net()
        if net is None:
            return lq_img
        from samdistill.inference.tiling import restore_tensor

        x = torch.from_numpy(np.ascontiguousarray(lq_img.transpose(2, 0, 1))).unsqueeze(0)
        with torch.inference_mode():
            y = restore_tensor(net, x)
        # quantize like a saved image: SAM sees what a user would see, and hashes are stable
        return (np.round(y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255) / 255).astype(np.float32)

    def masks_for_pair(self, index: int, pair, lq_img: np.ndarray, gt_img: np.ndarray, window=None) -> np.ndarray:
        current = read_pointer(self.pointer) if self.pointer is not None and pair is not None else None
        if current is None:
            return super().masks_for_pair(index, pair, lq_img, gt_img, window=window)
        k = self.cfg.crop_candidates
        top = k if self.ranks_in_window else self.num_masks
        # newest tag first: with refresh_fraction < 1 a pair's masks may be a few refreshes old
        hit = None
        for tag in current.get("tags") or [current["tag"]]:
            key = pair_key(pair, tag)
            hit = self._recall((key, "stored", top))
            if hit is not None:
                break
            maskset = self.cache.get(key, current["fingerprint"], top=top or None)
            if maskset is not None:
                self.stats["cache_hits"] += 1
                hit = PackedCandidates(maskset, top) if self.ranks_in_window else to_channels(maskset, self.num_masks)
                self._remember((key, "stored", top), hit, hit.nbytes)
                break
        if hit is None:
            raise DataError(f"{pair.lq}: no restored masks for IR1 snapshot {current['tag']} (step "
                            f"{current['step']}) in {self.cache.root}: the refresh did not store them")
        if self.ranks_in_window:
            return self.select(hit, window)
        return hit.copy()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_net"], state["_stamp"] = None, None  # each worker loads the snapshot itself
        return state


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """Content hash of a state dict (names, dtypes, shapes, bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(state):
        t = state[name].detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def write_ir1_snapshot(ir1: nn.Module, output_dir: str | Path, step: int = 0) -> Path:
    state = ir1.state_dict()
    meta = {"format": "samdistill-ir1-snapshot", "step": str(step), "digest": state_digest(state)}
    return atomic_save_file(state, Path(output_dir) / SNAPSHOT_NAME, meta)


def remove_ir1_snapshot(output_dir: str | Path) -> None:
    (Path(output_dir) / SNAPSHOT_NAME).unlink(missing_ok=True)


def snapshot_digest(path: Path) -> Optional[str]:
    """The snapshot's content digest from its header (None: no snapshot yet)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("digest", "")
    except FileNotFoundError:
        return None
    except (SafetensorError, OSError) as err:
        if not path.exists():
            return None
        raise CheckpointError(f"{path}: unreadable IR1 snapshot: {err}") from None


def build_prior_provider(cfg, source: Optional[str] = None) -> PriorProvider:
    """The provider for an experiment's SAM4IR priors (`cfg.sam4ir.prior_source` by default)."""
    source = source or cfg.sam4ir.prior_source
    tile = cfg.data.crop_size  # validation's full images are ranked per training crop (priors.val_select)
    if source == "restored":
        # restored masks belong to one run's IR1: keep them in the run folder, not the shared cache
        from samdistill.priors.cache import MaskCache

        out = Path(cfg.output_dir)
        pointer = out / POINTER_NAME if cfg.sam4ir.restored_refresh == "processes" else None
        return RestoredPriorProvider(cfg.priors, out / SNAPSHOT_NAME, cfg.model.name, cfg.model.args,
                                     pointer=pointer, cache=MaskCache(out / MASKS_DIR), tile_size=tile)
    return PriorProvider(cfg.priors, source=source, tile_size=tile)
