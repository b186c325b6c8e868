"""The FID Inception: key layout of the real weight file, strict loading, the FID-specific blocks,
input resize and scaling, the clean-fid resize, batched features and folders (random weights)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from samdistill.core.errors import CheckpointError
from samdistill.metrics.fid import (FeatureCollector, InceptionFeatures, clean_fid_resize, fid_between_folders,
                                    fid_from_features)
from samdistill.metrics.fid_inception import FIDInceptionV3, load_fid_inception, save_random_fid_inception

# ------------------------------------------------------------------ the real file's layout, written out
# from torchvision's Inception3 (num_classes=1008, aux_logits=False) with pytorch-fid's FID blocks:
# (unit name, in channels, out channels, kernel h, kernel w); each unit = conv (no bias) + BatchNorm.


def _a(cin, pool):
    return [("branch1x1", cin, 64, 1, 1), ("branch5x5_1", cin, 48, 1, 1), ("branch5x5_2", 48, 64, 5, 5),
            ("branch3x3dbl_1", cin, 64, 1, 1), ("branch3x3dbl_2", 64, 96, 3, 3), ("branch3x3dbl_3", 96, 96, 3, 3),
            ("branch_pool", cin, pool, 1, 1)]


def _b(cin):
    return [("branch3x3", cin, 384, 3, 3), ("branch3x3dbl_1", cin, 64, 1, 1), ("branch3x3dbl_2", 64, 96, 3, 3),
            ("branch3x3dbl_3", 96, 96, 3, 3)]


def _c(c7):
    return [("branch1x1", 768, 192, 1, 1), ("branch7x7_1", 768, c7, 1, 1), ("branch7x7_2", c7, c7, 1, 7),
            ("branch7x7_3", c7, 192, 7, 1), ("branch7x7dbl_1", 768, c7, 1, 1), ("branch7x7dbl_2", c7, c7, 7, 1),
            ("branch7x7dbl_3", c7, c7, 1, 7), ("branch7x7dbl_4", c7, c7, 7, 1), ("branch7x7dbl_5", c7, 192, 1, 7),
            ("branch_pool", 768, 192, 1, 1)]


def _d():
    return [("branch3x3_1", 768, 192, 1, 1), ("branch3x3_2", 192, 320, 3, 3), ("branch7x7x3_1", 768, 192, 1, 1),
            ("branch7x7x3_2", 192, 192, 1, 7), ("branch7x7x3_3", 192, 192, 7, 1), ("branch7x7x3_4", 192, 192, 3, 3)]


def _e(cin):
    return [("branch1x1", cin, 320, 1, 1), ("branch3x3_1", cin, 384, 1, 1), ("branch3x3_2a", 384, 384, 1, 3),
            ("branch3x3_2b", 384, 384, 3, 1), ("branch3x3dbl_1", cin, 448, 1, 1), ("branch3x3dbl_2", 448, 384, 3, 3),
            ("branch3x3dbl_3a", 384, 384, 1, 3), ("branch3x3dbl_3b", 384, 384, 3, 1), ("branch_pool", cin, 192, 1, 1)]


UNITS = ([("Conv2d_1a_3x3", 3, 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3), ("Conv2d_2b_3x3", 32, 64, 3, 3),
          ("Conv2d_3b_1x1", 64, 80, 1, 1), ("Conv2d_4a_3x3", 80, 192, 3, 3)]
         + [(f"Mixed_5b.{n}", *r) for n, *r in _a(192, 32)] + [(f"Mixed_5c.{n}", *r) for n, *r in _a(256, 64)]
         + [(f"Mixed_5d.{n}", *r) for n, *r in _a(288, 64)] + [(f"Mixed_6a.{n}", *r) for n, *r in _b(288)]
         + [(f"Mixed_6{x}.{n}", *r) for x, c7 in zip("bcde", (128, 160, 160, 192)) for n, *r in _c(c7)]
         + [(f"Mixed_7a.{n}", *r) for n, *r in _d()] + [(f"Mixed_7b.{n}", *r) for n, *r in _e(1280)]
         + [(f"Mixed_7c.{n}", *r) for n, *r in _e(2048)])


def expected_layout() -> dict[str, tuple]:
    keys: dict[str, tuple] = {}
    for name, cin, cout, kh, kw in UNITS:
        keys[f"{name}.conv.weight"] = (cout, cin, kh, kw)
        for t in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{name}.bn.{t}"] = (cout,)
        keys[f"{name}.bn.num_batches_tracked"] = ()
    keys["fc.weight"], keys["fc.bias"] = (1008, 2048), (1008,)
    return keys


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    return save_random_fid_inception(tmp_path_factory.mktemp("fid") / "pt_inception-2015-12-05-6726825d.pth", seed=0)


@pytest.fixture(scope="module")
def network(weights_file: Path) -> FIDInceptionV3:
    return load_fid_inception(weights_file)


def test_state_dict_is_the_real_files_key_layout() -> None:
    expected = expected_layout()
    got = {k: tuple(v.shape) for k, v in FIDInceptionV3().state_dict().items()}
    assert len(UNITS) == 94 and len(expected) == 566
    assert got == expected
    # spot checks against torchvision's published module shapes
    assert got["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert got["Mixed_6b.branch7x7_2.conv.weight"] == (128, 128, 1, 7)
    assert got["Mixed_7c.branch3x3_2b.conv.weight"] == (384, 384, 3, 1)
    assert got["fc.weight"] == (1008, 2048)
    assert not any(k.startswith("AuxLogits") for k in got)
    # torchvision's inception_v3 has 27,161,264 parameters; without the auxiliary head (3,326,696) and
    # with 1008 instead of 1000 classes (+ 8 * 2049): 23,850,960
    assert sum(p.numel() for p in FIDInceptionV3().parameters()) == 27_161_264 - 3_326_696 + 8 * 2049


def test_batchnorm_eps_is_1e_3() -> None:
    bns = [m for m in FIDInceptionV3().modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 94 and {m.eps for m in bns} == {1e-3}


def test_random_weights_in_the_legacy_format_load_through_the_real_loader(weights_file: Path, network) -> None:
    assert not zipfile.is_zipfile(weights_file)  # pre-1.6 serialization, as pytorch-fid's file
    state = torch.load(weights_file, map_location="cpu", weights_only=True)
    assert set(state) == set(expected_layout())
    loaded = network.state_dict()
    for key in ("Mixed_7c.branch_pool.conv.weight", "Conv2d_1a_3x3.bn.running_var", "fc.bias"):
        assert torch.equal(loaded[key], state[key])
    assert not network.training and not any(p.requires_grad for p in network.parameters())


def _rewrite(src: Path, dst: Path, edit) -> Path:
    state = torch.load(src, map_location="cpu", weights_only=True)
    edit(state)
    torch.save(state, dst)
    return dst


def test_wrong_files_name_their_missing_unexpected_and_misshaped_keys(weights_file: Path, tmp_path: Path) -> None:
    missing = _rewrite(weights_file, tmp_path / "missing.pth", lambda s: s.pop("Mixed_6c.branch7x7_3.bn.bias"))
    with pytest.raises(CheckpointError, match=r"1 missing key\(s\): Mixed_6c\.branch7x7_3\.bn\.bias"):
        load_fid_inception(missing)

    def torchvision_like(s):  # torchvision's own inception_v3 file has an auxiliary head and 1000 classes
        s["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    extra = _rewrite(weights_file, tmp_path / "extra.pth", torchvision_like)
    with pytest.raises(CheckpointError, match=r"unexpected key\(s\): AuxLogits\.fc\.weight.*pt_inception"):
        load_fid_inception(extra)
    shape = _rewrite(weights_file, tmp_path / "shape.pth", lambda s: s.update({"fc.weight": torch.zeros(1000, 2048)}))
    with pytest.raises(CheckpointError, match=r"fc\.weight has shape \(1000, 2048\).*\(1008, 2048\)"):
        load_fid_inception(shape)
    with pytest.raises(CheckpointError, match="not found"):
        load_fid_inception(tmp_path / "nowhere.pth")


class _Payload:
    """Anything that is not a plain tensor container: weights_only must refuse to build it."""


def test_files_with_code_are_refused_not_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(1), "x": _Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_fid_inception(path)
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="state dict of tensors"):
        load_fid_inception(tmp_path / "list.pth")


# ------------------------------------------------------------------ the FID blocks on small tensors

def _reference_pool(x: np.ndarray, kind: str) -> np.ndarray:
    """3x3 stride-1 pooling by its definition: the valid neighbours only (TensorFlow SAME)."""
    c, h, w = x.shape
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            win = x[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].reshape(c, -1)
            out[:, i, j] = win.max(1) if kind == "max" else win.mean(1)
    return out


def _route_pool_branch(block, k: int) -> None:
    """branch_pool := identity on the first k channels (1x1 conv picks them, BatchNorm is the identity)."""
    conv, bn = block.branch_pool.conv, block.branch_pool.bn
    with torch.no_grad():
        conv.weight.zero_()
        for i in range(k):
            conv.weight[i, i] = 1.0
        bn.weight.fill_(1.0)
        bn.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)


POOLING = {"Mixed_5b": "avg", "Mixed_5c": "avg", "Mixed_5d": "avg", "Mixed_6b": "avg", "Mixed_6c": "avg",
           "Mixed_6d": "avg", "Mixed_6e": "avg", "Mixed_7b": "avg", "Mixed_7c": "max"}


@pytest.mark.parametrize("block_name", sorted(POOLING))
def test_pool_branch_of_each_fid_block(block_name: str) -> None:
    """A/C/E_1 average without counting the zero padding; E_2 (Mixed_7c) max-pools."""
    block = getattr(FIDInceptionV3(), block_name)
    cin = block.branch1x1.conv.in_channels
    x = torch.rand(1, cin, 4, 5, generator=torch.Generator().manual_seed(0)) + 0.1
    _route_pool_branch(block, 4)
    out = block(x)[0, -block.branch_pool.conv.out_channels:][:4].detach().numpy()
    expected = _reference_pool(x[0, :4].numpy(), POOLING[block_name])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    if POOLING[block_name] == "avg":  # torchvision's count_include_pad=True differs at the border only
        tv = F.avg_pool2d(x[:, :4], 3, 1, 1).numpy()[0]
        assert np.abs(tv[:, 0, 0] - expected[:, 0, 0]).min() > 1e-3
        np.testing.assert_allclose(tv[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], rtol=1e-5)
    else:  # and max is not an average
        assert np.abs(_reference_pool(x[0, :4].numpy(), "avg") - expected).max() > 1e-2


def test_constant_input_shows_the_padding_is_not_counted() -> None:
    """Hand-computed: ones in, ones out everywhere (counting the padding would give 4/9 at the corners)."""
    block = FIDInceptionV3().Mixed_5b
    _route_pool_branch(block, 3)
    out = block(torch.ones(1, 192, 3, 3))[0, -32:][:3]
    np.testing.assert_allclose(out.detach().numpy(), np.ones((3, 3, 3)), rtol=1e-6)


# ------------------------------------------------------------------ input handling and features

class _Stop(Exception):
    pass


def _first_conv_input(net: FIDInceptionV3, run) -> torch.Tensor:
    seen = []

    def hook(_module, args):
        seen.append(args[0].detach().clone())
        raise _Stop

    handle = net.Conv2d_1a_3x3.register_forward_pre_hook(hook)
    try:
        with pytest.raises(_Stop):
            run()
    finally:
        handle.remove()
    return seen[0]


def test_input_is_resized_bilinear_to_299_and_scaled_to_minus1_1(network) -> None:
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    got = _first_conv_input(network, lambda: network(x))
    resized = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    torch.testing.assert_close(got, 2 * resized - 1)
    nearest = F.interpolate(x, size=(299, 299), mode="nearest")
    assert (got - (2 * nearest - 1)).abs().max() > 1e-2


def test_clean_fid_resize_is_pil_bicubic_per_channel_in_float(network) -> None:
    img = np.random.default_rng(2).random((23, 31, 3)).astype(np.float32)
    got = clean_fid_resize(img)
    assert got.shape == (299, 299, 3) and got.dtype == np.float32
    for c in range(3):
        ref = np.asarray(Image.fromarray(img[:, :, c] * 255).resize((299, 299), Image.BICUBIC)).clip(0, 255) / 255
        np.testing.assert_allclose(got[:, :, c], ref, rtol=1e-6, atol=1e-7)
    bilinear = F.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None], size=(299, 299), mode="bilinear",
                             align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(got - bilinear).max() > 1e-2  # the two modes really differ
    extractor = InceptionFeatures(network, resize="clean-fid")
    seen = _first_conv_input(network, lambda: extractor.features([img]))
    torch.testing.assert_close(seen[0], 2 * torch.from_numpy(got).permute(2, 0, 1) - 1)


def test_full_size_shapes_and_batched_features_equal_single_ones(network) -> None:
    shapes = {}
    hooks = [getattr(network, n).register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, tuple(o.shape)))
             for n in ("Mixed_5d", "Mixed_6e", "Mixed_7c")]
    rng = np.random.default_rng(3)
    images = [rng.random((48, 64, 3)).astype(np.float32) for _ in range(3)]
    extractor = InceptionFeatures(network, batch_size=2)
    try:
        batched = extractor(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2))
    finally:
        for h in hooks:
            h.remove()
    assert shapes == {"Mixed_5d": (1, 288, 35, 35), "Mixed_6e": (1, 768, 17, 17), "Mixed_7c": (1, 2048, 8, 8)}
    assert batched.shape == (3, 2048) and batched.dtype == np.float64 and np.isfinite(batched).all()
    assert np.abs(batched[0] - batched[1]).max() > 1e-6  # different images, different features
    collector = extractor.collector()
    assert isinstance(collector, FeatureCollector)
    for img in images:
        collector.add(img)
    np.testing.assert_allclose(collector.result(), batched, rtol=1e-4, atol=1e-5 * np.abs(batched).max())


def _write_folder(folder: Path, seed: int, count: int, size=(30, 40)) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_fid_between_folders_in_both_resize_modes(network, weights_file: Path, tmp_path: Path) -> None:
    from samdistill.data.io import read_image

    a = _write_folder(tmp_path / "a", 0, 2)
    b = _write_folder(tmp_path / "b", 1, 2, size=(36, 28))
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    extractor = InceptionFeatures(network)
    with pytest.warns(UserWarning, match="fewer images than dimensions"):
        result = fid_between_folders(a, b, extractor, progress=False, method="svd")
    assert result.resize == "pytorch-fid" and "pytorch-fid resize" in str(result)
    assert (result.count_a, result.count_b, result.dims) == (2, 2, 2048)
    feats = [extractor.features([read_image(p) for p in sorted(d.glob("*.png"))]) for d in (a, b)]
    with pytest.warns(UserWarning):
        direct = fid_from_features(*feats, method="svd")
    assert result.value == pytest.approx(direct.value, rel=1e-9) and result.value > 0

    with pytest.warns(UserWarning):  # a weight-file path works too; clean-fid mode says so
        clean = fid_between_folders(a, b, weights_file, resize="clean-fid", progress=False, method="svd")
    assert clean.resize == "clean-fid" and "clean-fid resize" in str(clean)
    assert clean.value != pytest.approx(result.value, rel=1e-6)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        fid_between_folders(tmp_path / "nowhere", b, extractor, progress=False)
