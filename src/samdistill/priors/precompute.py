"""Fill the mask cache for a dataset before training (`samdistill priors precompute`).

Resumable: images whose masks are already cached (same pixels, same segmenter fingerprint) are
skipped and counted. Sharded: under `accelerate launch --multi_gpu` or `torchrun` (also on CPU),
rank r segments items r, r + world, ... so every image is computed by exactly one process; all
ranks share the cache folder.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from samdistill.config.experiment import ExperimentConfig
from samdistill.data.config import DatasetConfig
from samdistill.priors.cache import image_hash
from samdistill.priors.provider import PriorProvider


@dataclass
class PrecomputeStats:
    total: int  # pairs in the dataset
    assigned: int  # pairs this process was responsible for
    computed: int = 0
    cached: int = 0  # already in the cache, skipped
    rank: int = 0
    world: int = 1
    cache_dir: str = ""
    segmenter: dict = field(default_factory=dict)
    computed_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def precompute(
    cfg: ExperimentConfig,
    split: str = "train",
    source: str = "lq",
    progress: bool = True,
    provider: Optional[PriorProvider] = None,
) -> PrecomputeStats:
    """Segment every `source` image of the `split` dataset that is not cached yet."""
    from tqdm import tqdm

    from samdistill.data.io import read_image

    if source not in ("lq", "gt"):
        from samdistill.core.errors import ConfigError

        raise ConfigError(
            f"priors precompute: source must be lq or gt, got {source!r} (restored priors come "
            "from IR1 during training and cannot be precomputed)"
        )
    provider = provider or PriorProvider(cfg.priors, source=source)
    if provider.cache is None:
        raise ValueError("priors precompute needs a PriorProvider with a disk cache")
    pairs = dataset_pairs(_dataset_config(cfg, split))
    rank, world = _rank_and_world()
    mine = pairs[rank::world]
    fingerprint = provider.fingerprint()
    stats = PrecomputeStats(total=len(pairs), assigned=len(mine), rank=rank, world=world,
                            cache_dir=str(provider.cache.root), segmenter=fingerprint)
    bar = tqdm(mine, desc=f"masks ({split}/{source})", unit="img", disable=not progress or rank != 0)
    for pair in bar:
        path, box = (pair.lq, pair.lq_box) if source == "lq" else (pair.gt, pair.gt_box)
        image = read_image(path, box=box)
        key = image_hash(image)
        if provider.cache.has_valid(key, fingerprint):
            stats.cached += 1
        else:
            provider.masks_for(image, key=key)
            stats.computed += 1
            stats.computed_names.append(str(pair.name))
        bar.set_postfix(computed=stats.computed, cached=stats.cached)
    _wait_for_everyone(world)
    return stats


def dataset_pairs(ds_cfg: DatasetConfig) -> list:
    """The dataset's validated pairs, in the dataset's order (so ranks split them identically)."""
    from samdistill.data.layouts import resolve_pairs

    return list(resolve_pairs(ds_cfg))


def _dataset_config(cfg: ExperimentConfig, split: str) -> DatasetConfig:
    from samdistill.core.errors import ConfigError

    if split == "train":
        return cfg.data.train
    if split == "test":
        if cfg.data.val is None:
            raise ConfigError("priors precompute --split test: the config has no data.val dataset")
        return cfg.data.val
    raise ConfigError(f"priors precompute: split must be train or test, got {split!r}")


WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def _rank_and_world() -> tuple[int, int]:
    """This process's rank and the world size. A single process never touches accelerate's
    process-wide state (so a later Accelerator in the same process is configured freely)."""
    if max(int(os.environ.get(v, "1") or 1) for v in WORLD_SIZE_VARIABLES) <= 1:
        return 0, 1
    state = _state()
    return state.process_index, state.num_processes


def _state():
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    # PartialState only detects a multi-process CPU run (torchrun on a machine without CUDA,
    # gloo backend) when told cpu=True; `accelerate launch --cpu` says so through this variable.
    cpu = not torch.cuda.is_available() or parse_flag_from_env("ACCELERATE_USE_CPU")
    return PartialState(cpu=cpu)


def _wait_for_everyone(world: int) -> None:
    if world > 1:
        _state().wait_for_everyone()
