"""precompute: fills the cache, resumes, and splits the work between 2 processes exactly once."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samdistill.config.loader import ConfigError, config_from_dict
from samdistill.priors.cache import MaskCache, image_hash
from samdistill.priors.offline import OfflineSegmenter
from samdistill.priors.precompute import precompute
from samdistill.data.io import read_image

NAMES = [f"img{i}" for i in range(5)]


def _dataset(root: Path) -> None:
    rng = np.random.default_rng(0)
    for name in NAMES:
        for sub in ("lq", "gt"):
            (root / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (12, 14, 3), dtype=np.uint8)).save(root / sub / f"{name}.png")


def _cfg(tmp_path: Path):
    _dataset(tmp_path / "data")
    return config_from_dict({
        "data": {"train": {"layout": "folders", "root": str(tmp_path / "data"), "lq_dir": "lq", "gt_dir": "gt"},
                 "val": None},
        "priors": {"backend": "offline", "cache_dir": str(tmp_path / "cache")},
    })


def test_precompute_fills_the_cache_and_resumes(tmp_path):
    cfg = _cfg(tmp_path)
    first = precompute(cfg, progress=False)
    assert (first.total, first.computed, first.cached) == (5, 5, 0)
    assert sorted(first.computed_names) == NAMES
    second = precompute(cfg, progress=False)
    assert (second.computed, second.cached) == (0, 5)
    cache = MaskCache(tmp_path / "cache")
    fp = OfflineSegmenter(cfg.priors.offline).fingerprint()
    for name in NAMES:
        img = read_image(tmp_path / "data" / "lq" / f"{name}.png")
        cached = cache.get(image_hash(img), fp)
        np.testing.assert_array_equal(cached.masks, OfflineSegmenter(cfg.priors.offline)(img).masks)


def test_precompute_gt_source_and_bad_arguments(tmp_path):
    cfg = _cfg(tmp_path)
    assert precompute(cfg, source="gt", progress=False).computed == 5
    assert precompute(cfg, source="lq", progress=False).computed == 5  # other pixels, other entries
    with pytest.raises(ConfigError, match="restored"):
        precompute(cfg, source="restored", progress=False)
    with pytest.raises(ConfigError, match="no data.val"):
        precompute(cfg, split="test", progress=False)


SHARD_SCRIPT = """
import json, sys
from samdistill.config.loader import config_from_dict
from samdistill.priors.precompute import precompute
cfg = config_from_dict(json.loads(sys.argv[1]))
stats = precompute(cfg, progress=False)
with open(f"{sys.argv[2]}/rank{stats.rank}.json", "w") as f:
    json.dump(stats.as_dict(), f)
"""


@pytest.mark.slow  # ~8 s: two torch processes start
def test_two_processes_compute_each_image_exactly_once(tmp_path):
    cfg = _cfg(tmp_path)
    script = tmp_path / "shard.py"
    script.write_text(SHARD_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), json.dumps(cfg.model_dump(mode="json")), str(tmp_path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)  # slow when CI is loaded
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2] and [r["rank"] for r in ranks] == [0, 1]
    computed = ranks[0]["computed_names"] + ranks[1]["computed_names"]
    assert sorted(computed) == NAMES  # every image once, none twice
    assert ranks[0]["computed_names"] == NAMES[0::2]
    assert precompute(cfg, progress=False).cached == 5  # the shared cache is complete
