"""Two CPU processes (gloo) share a refresh of restored priors: each pair made once, by one rank,
stored under (pair, snapshot), identical to what one process makes."""
import json
from pathlib import Path

import numpy as np

from samdistill.data.config import DatasetConfig
from samdistill.data.paired import PairedImageDataset
from samdistill.priors.offline import OfflineSegmenter
from samdistill.sam4ir.priors import RestoredPriorProvider, SNAPSHOT_NAME, snapshot_digest
from samdistill.sam4ir.refresh import POINTER_NAME, pair_key, read_pointer

from test_restored_refresh import make_cfg, write_pairs


def test_two_processes_split_the_refresh(tmp_path, torchrun):
    write_pairs(tmp_path / "train", 5)
    write_pairs(tmp_path / "val", 2, seed=1)
    torchrun(Path(__file__).with_name("refresh_ddp_worker.py"), tmp_path)

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world"] == 2 for r in ranks)
    for step in ("0", "3"):  # 7 distinct pairs, sharded 4 + 3, none made twice
        assert sorted(r["made"][step] for r in ranks) == [3, 4]

    cfg = make_cfg(tmp_path)
    out = Path(cfg.output_dir)
    pointer = read_pointer(out / POINTER_NAME)
    assert pointer["tag"] == snapshot_digest(out / SNAPSHOT_NAME) and pointer["step"] == 3
    seg = OfflineSegmenter(cfg.priors.offline)
    single = RestoredPriorProvider(cfg.priors, out / SNAPSHOT_NAME, cfg.model.name, cfg.model.args, cache=False)
    reader = RestoredPriorProvider(cfg.priors, out / SNAPSHOT_NAME, cfg.model.name, cfg.model.args,
                                   pointer=out / POINTER_NAME, cache=True)
    reader.cache.root = out / "priors" / "masks"
    for name in ("train", "val"):
        ds = PairedImageDataset(DatasetConfig(layout="restormer", root=str(tmp_path / name)))
        for i, pair in enumerate(ds.pairs):
            lq, gt = ds.read_pair(i)
            stored = reader.cache.get(pair_key(pair, pointer["tag"]), pointer["fingerprint"])
            np.testing.assert_array_equal(stored.masks, seg(single.image_for_source(i, lq, gt)).masks)
