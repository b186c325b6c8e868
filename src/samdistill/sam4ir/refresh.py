"""Restored priors at scale (`sam4ir.restored_refresh: processes`, issue 10 defect 7).

At each refresh the *training processes* (not DataLoader workers) make the masks:
  1. the pairs of the datasets the method feeds (train and validation, deduplicated) are split
     across processes, `pairs[rank::world_size]`;
  2. each process restores its share with IR1 in batches of `sam4ir.refresh_batch_size`
     (same-sized images stacked) on its own accelerator, quantized to 8 bits like a saved image;
  3. it segments them there (`segment_batch`: SAM batches prompts; the segmenter is built once per
     process on that process's device, never in a forked worker);
  4. it stores the masks in the run's mask cache keyed by (pair, tag): tag = the IR1 snapshot's
     content digest, or "lq" before the warm-up (masks of the LQ image);
  5. after every process is done, the main one points `priors/restored_masks.json` at the tag
     (with the segmenter's fingerprint), and DataLoader workers only read the cache through it.
An entry already stored for the same (pair, tag) is not recomputed (a resumed run). With
`sam4ir.refresh_fraction` < 1 a refresh after the first segments one share of the pairs
(`sam4ir/plan.py: refresh_share`); the pointer then lists the tags of the last ceil(1/f)
refreshes, newest first, and a pair's masks are read under the newest tag that has them.
"""
from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from samdistill.core.atomic import atomic_write_text
from samdistill.priors.cache import MaskCache
from samdistill.priors.segmenter import build_segmenter, segment_batch
from samdistill.sam4ir.plan import refresh_share
from samdistill.sam4ir.priors import (MASKS_DIR, POINTER_NAME, SNAPSHOT_NAME, pair_key, read_pointer,  # noqa: F401
                                      snapshot_digest)

logger = logging.getLogger("samdistill")

LQ_TAG = "lq"


@dataclass
class RefreshStats:
    images: int = 0  # made by this process
    skipped: int = 0  # already stored (same pair and tag)
    seconds: dict = field(default_factory=lambda: {"read": 0.0, "restore": 0.0, "segment": 0.0, "store": 0.0})

    def per_image_ms(self) -> dict:
        n = max(self.images, 1)
        return {k: 1000 * v / n for k, v in self.seconds.items()}


class PriorRefresher:
    """Owns this process's segmenter (built once, on `device`) and runs refreshes."""

    def __init__(self, priors_cfg, output_dir: str | Path, batch_size: int = 8, segmenter=None):
        """`segmenter`: use this one instead of building `priors_cfg`'s (tests, benchmarks)."""
        self.cfg, self.batch_size = priors_cfg, batch_size
        out = Path(output_dir)
        self.cache, self.pointer = MaskCache(out / MASKS_DIR), out / POINTER_NAME
        self._segmenter = segmenter
        self._fingerprint = segmenter.fingerprint() if segmenter is not None else None

    def segmenter(self, device: torch.device):
        if self._segmenter is None:
            cfg = self.cfg
            for key in ("sam", "sam2"):  # this process's accelerator, not cuda:0 for every rank
                section = getattr(cfg, key)
                if section.device == "auto":
                    cfg = cfg.model_copy(update={key: section.model_copy(update={"device": str(device)})})
            self._segmenter = build_segmenter(cfg)
            self._fingerprint = self._segmenter.fingerprint()
        return self._segmenter

    def run(self, datasets: list, ir1: Optional[torch.nn.Module], tag: str, step: int,
            accelerator=None, share: tuple[int, int] = (0, 1)) -> RefreshStats:
        """Store the masks of the pairs of `datasets` for `tag` (IR1's output, or LQ when `ir1` is
        None), this process's part of `share` = (i, n): the pairs `[i::n]` (all with (0, 1)); then
        (all processes done) publish the tag, keeping the last n tags readable."""
        rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
        device = accelerator.device if accelerator else (next(ir1.parameters()).device if ir1 else torch.device("cpu"))
        seg = self.segmenter(device)
        items = _unique_pairs(datasets)[share[0]::share[1]][rank::world]
        stats = RefreshStats()
        todo = [(ds, i, pair_key(ds.pairs[i], tag)) for ds, i in items]
        todo_left = [t for t in todo if not self.cache.path_for(t[2], self._fingerprint).is_file()]
        stats.skipped = len(todo) - len(todo_left)
        was_training = ir1.training if ir1 is not None else False
        if ir1 is not None:
            ir1.eval()
        try:
            for start in range(0, len(todo_left), self.batch_size):
                self._batch(todo_left[start:start + self.batch_size], ir1, device, seg, stats)
        finally:
            if ir1 is not None:
                ir1.train(was_training)
        if accelerator is not None:
            accelerator.wait_for_everyone()
        if accelerator is None or accelerator.is_main_process:
            # a pair left out of this share keeps the masks of the refresh that last made them: one
            # of the previous cycle - 1 restored tags (the first refresh made every pair's)
            previous = (read_pointer(self.pointer) or {}).get("tags", []) if share[1] > 1 else []
            tags = [tag] + [t for t in previous if t not in (tag, LQ_TAG)][:share[1] - 1]
            atomic_write_text(self.pointer, json.dumps({"tag": tag, "tags": tags, "step": step,
                                                        "fingerprint": self._fingerprint}, default=str))
        if accelerator is not None:
            accelerator.wait_for_everyone()
        return stats

    def _batch(self, chunk: list, ir1, device, seg, stats: RefreshStats) -> None:
        t0 = time.perf_counter()
        pairs = [ds.read_pair(i) for ds, i, _ in chunk]
        t1 = time.perf_counter()
        images = [lq for lq, _ in pairs] if ir1 is None else _restore(ir1, [lq for lq, _ in pairs], device)
        t2 = time.perf_counter()
        by_reference = getattr(seg, "segment_by_reference", None)
        if by_reference is not None:  # the street world's ideal segmenter finds images by their GT
            masks = [by_reference(img, gt) for img, (_, gt) in zip(images, pairs)]
        else:
            masks = segment_batch(seg, images)
        t3 = time.perf_counter()
        for (_, _, key), maskset, img in zip(chunk, masks, images):
            if maskset.size != img.shape[:2]:
                raise ValueError(f"segmenter returned {maskset.size[0]}x{maskset.size[1]} masks for a "
                                 f"{img.shape[0]}x{img.shape[1]} image")
            self.cache.put(key, self._fingerprint, maskset)
        t4 = time.perf_counter()
        stats.images += len(chunk)
        for name, dt in zip(("read", "restore", "segment", "store"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stats.seconds[name] += dt


def _unique_pairs(datasets: list) -> list:
    """(dataset, pair index) of every distinct pair, in a fixed order (same on every process)."""
    seen, out = set(), []
    for ds in datasets:
        for i, pair in enumerate(ds.pairs):
            key = pair_key(pair, "")
            if key not in seen:
                seen.add(key)
                out.append((ds, i))
    return out


def _restore(ir1: torch.nn.Module, lqs: list, device: torch.device) -> list:
    """IR1's outputs for float (H, W, 3) images, same-sized ones in one batch, 8-bit quantized."""
    from samdistill.inference.tiling import restore_tensor

    out: list = [None] * len(lqs)
    groups = defaultdict(list)
    for j, lq in enumerate(lqs):
        groups[lq.shape].append(j)
    for idx in groups.values():
        x = torch.from_numpy(np.stack([lqs[j].transpose(2, 0, 1) for j in idx])).to(device)
        y = restore_tensor(ir1, x).clamp(0, 1).mul(255).round().div(255)
        for j, img in zip(idx, y.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)):
            out[j] = np.ascontiguousarray(img)
    return out


def refresh_priors(method, trainer, step: int, restored: bool) -> RefreshStats:
    """The method's refresh at `step`: IR1's outputs (`restored`, the snapshot just written) or,
    before the warm-up, the LQ images. Every process calls it (sharded inside)."""
    out = Path(trainer.cfg.output_dir)
    if method._refresher is None:
        method._refresher = PriorRefresher(trainer.cfg.priors, out, method.cfg.refresh_batch_size)
    tag = (snapshot_digest(out / SNAPSHOT_NAME) or "") if restored else LQ_TAG
    share = refresh_share(step, method.cfg) if restored else (0, 1)
    t0 = time.perf_counter()
    stats = method._refresher.run(method.prior_datasets, method.ir1 if restored else None, tag, step,
                                  getattr(trainer, "accelerator", None), share)
    method.last_refresh = stats
    ms = stats.per_image_ms()
    logger.info("restored priors at step %d (%s): %d images here (%d already stored) in %.1f s; per image "
                "%.0f ms read, %.0f ms IR1, %.0f ms segment, %.0f ms store", step, "IR1" if restored else "LQ",
                stats.images, stats.skipped, time.perf_counter() - t0, ms["read"], ms["restore"], ms["segment"],
                ms["store"])
    return stats
