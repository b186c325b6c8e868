import numpy as np
import pytest
import torch

from samdistill.data.config import AugmentConfig, DataConfig, DatasetConfig
from samdistill.data.errors import DataError
from samdistill.data.io import read_image
from samdistill.data.loader import build_dataloader
from samdistill.data.paired import PairedImageDataset
from samdistill.data.transforms import PairedTransform


@pytest.fixture
def restormer_root(tmp_path, save_image):
    for i in range(3):
        save_image(tmp_path / f"input/{i}.png", size=(24, 20), seed=i)
        save_image(tmp_path / f"target/{i}.png", size=(24, 20), seed=10 + i)
    return tmp_path


def cfg_for(root, **kw):
    return DatasetConfig(layout="restormer", root=str(root), **kw)


def test_full_image_items(restormer_root):
    ds = PairedImageDataset(cfg_for(restormer_root))
    assert len(ds) == 3
    item = ds[1]
    assert item["lq"].shape == item["gt"].shape == (3, 20, 24) and item["lq"].dtype == torch.float32
    assert item["name"] == "1" and item["index"] == 1 and "masks" not in item
    expected = read_image(restormer_root / "input/1.png").transpose(2, 0, 1)
    np.testing.assert_array_equal(item["lq"].numpy(), expected)


def test_crops_match_manual_transform_on_lq_gt_and_masks(restormer_root, fake_provider):
    aug = AugmentConfig(hflip=True, vflip=True, rot90=True)
    ds = PairedImageDataset(cfg_for(restormer_root), crop_size=8, augment=aug, prior_provider=fake_provider, seed=5)
    item = ds[2]
    params = PairedTransform(8, True, True, True).sample(np.random.default_rng([5, 0, 2]), 20, 24)
    lq, gt = read_image(ds.pairs[2].lq), read_image(ds.pairs[2].gt)
    masks = fake_provider.masks_for_pair(2, ds.pairs[2], lq, gt)
    np.testing.assert_array_equal(item["lq"].numpy(), PairedTransform.apply(params, lq).transpose(2, 0, 1))
    np.testing.assert_array_equal(item["gt"].numpy(), PairedTransform.apply(params, gt).transpose(2, 0, 1))
    assert item["masks"].shape == (3, 8, 8) and item["masks"].dtype == torch.float32
    np.testing.assert_array_equal(item["masks"].numpy(), PairedTransform.apply(params, masks, channels_first=True))
    assert fake_provider.calls[0] == (2, "2", (20, 24, 3))  # full-resolution images go to the provider


def test_reproducible_per_seed_and_epoch(restormer_root):
    make = lambda seed: PairedImageDataset(cfg_for(restormer_root), crop_size=8, seed=seed)  # noqa: E731
    a, b, c = make(1), make(1), make(2)
    assert torch.equal(a[0]["lq"], b[0]["lq"])
    assert not all(torch.equal(a[i]["lq"], c[i]["lq"]) for i in range(3))
    first = [a[i]["lq"] for i in range(3)]
    a.set_epoch(1)
    assert not all(torch.equal(first[i], a[i]["lq"]) for i in range(3))


def test_repeat_multiplies_length(restormer_root):
    ds = PairedImageDataset(cfg_for(restormer_root), crop_size=8, repeat=4)
    assert len(ds) == 12 and ds[7]["index"] == 1 and ds[7]["name"] == "1"
    with pytest.raises(IndexError):
        ds[12]


def test_crop_too_large_names_file(restormer_root):
    ds = PairedImageDataset(cfg_for(restormer_root), crop_size=32)
    with pytest.raises(DataError, match=r"input/0\.png.*smaller than crop_size 32"):
        ds[0]


def test_bad_mask_shape_is_reported(restormer_root):
    class Wrong:
        def masks_for_pair(self, index, pair, lq, gt):
            return np.zeros((2, 5, 5), np.float32)

    with pytest.raises(DataError, match=r"masks of shape \(2, 5, 5\), expected \(N, 20, 24\)"):
        PairedImageDataset(cfg_for(restormer_root), prior_provider=Wrong())[0]


def test_didmdn_items_use_halves(tmp_path, save_image):
    save_image(tmp_path / "a.png", size=(16, 10))
    item = PairedImageDataset(DatasetConfig(layout="didmdn", root=str(tmp_path)))[0]
    full = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(item["lq"].numpy(), full[:, :8].transpose(2, 0, 1))
    np.testing.assert_array_equal(item["gt"].numpy(), full[:, 8:].transpose(2, 0, 1))


def test_train_loader_batches_and_seeded_shuffle(restormer_root):
    data_cfg = DataConfig(train=cfg_for(restormer_root), val=cfg_for(restormer_root), crop_size=8, batch_size=4)
    loader = build_dataloader(data_cfg.train, data_cfg, train=True, seed=3)
    assert len(loader.dataset) >= 1000 and loader.drop_last
    batch = next(iter(loader))
    assert batch["lq"].shape == (4, 3, 8, 8) and len(batch["name"]) == 4
    again = next(iter(build_dataloader(data_cfg.train, data_cfg, train=True, seed=3)))
    assert torch.equal(batch["lq"], again["lq"]) and batch["name"] == again["name"]


def test_val_loader_full_images_batch_one_with_limit(restormer_root):
    data_cfg = DataConfig(train=cfg_for(restormer_root), val=cfg_for(restormer_root), val_limit=2, repeat=1)
    loader = build_dataloader(data_cfg.val, data_cfg, train=False)
    names = [b["name"][0] for b in loader]
    assert names == ["0", "1"] and next(iter(loader))["lq"].shape == (1, 3, 20, 24)


def test_train_loader_too_small_for_batch(restormer_root):
    data_cfg = DataConfig(train=cfg_for(restormer_root), crop_size=8, batch_size=8, repeat=1)
    with pytest.raises(DataError, match="fewer than batch_size 8"):
        build_dataloader(data_cfg.train, data_cfg, train=True)


def test_embedded_dataset_items(embedded_cache):
    cfg = DatasetConfig(layout="embedded", name="embedded-noise", split="train", cache_dir=str(embedded_cache))
    ds = PairedImageDataset(cfg, crop_size=64, augment=AugmentConfig())
    item = ds[0]
    assert item["lq"].shape == (3, 64, 64) and not torch.equal(item["lq"], item["gt"])
