"""LPIPS v0.1 with random weights saved in the real formats and read through the real loaders:
the formula against an independent functional reference, the metric's properties, clear errors."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from samdistill.core.errors import CheckpointError
from samdistill.metrics.lpips import LPIPS, save_random_lpips

SIZES = {"alex": (40, 48), "vgg": (32, 36)}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("lpips")
    return {  # torchvision's alexnet file is a zip file, its vgg16 file a legacy one; lpips' files are legacy
        "alex": save_random_lpips("alex", root / "alexnet-owt-7be5be79.pth", root / "alex.pth", seed=0),
        "vgg": save_random_lpips("vgg", root / "vgg16-397923af.pth", root / "vgg.pth", seed=1,
                                 trunk_legacy_format=True),
    }


@pytest.fixture(scope="module")
def metrics(files) -> dict[str, LPIPS]:
    return {net: LPIPS.from_weights(net, *files[net]) for net in files}


# An independent reference, written from the lpips v0.1 definition with functional ops only.
PLANS = {  # ("c", torchvision index, stride, padding) conv + ReLU; "t" tap; ("p", kernel, stride) max pool
    "alex": [("c", 0, 4, 2), "t", ("p", 3, 2), ("c", 3, 1, 2), "t", ("p", 3, 2), ("c", 6, 1, 1), "t",
             ("c", 8, 1, 1), "t", ("c", 10, 1, 1), "t"],
    "vgg": [("c", 0, 1, 1), ("c", 2, 1, 1), "t", ("p", 2, 2), ("c", 5, 1, 1), ("c", 7, 1, 1), "t", ("p", 2, 2),
            ("c", 10, 1, 1), ("c", 12, 1, 1), ("c", 14, 1, 1), "t", ("p", 2, 2), ("c", 17, 1, 1), ("c", 19, 1, 1),
            ("c", 21, 1, 1), "t", ("p", 2, 2), ("c", 24, 1, 1), ("c", 26, 1, 1), ("c", 28, 1, 1), "t"],
}


def reference_lpips(net: str, trunk_file: Path, lin_file: Path, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    trunk = torch.load(trunk_file, weights_only=True)
    lins = torch.load(lin_file, weights_only=True)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def taps(x):
        x = ((2 * x - 1) - shift) / scale
        out = []
        for step in PLANS[net]:
            if step == "t":
                out.append(x)
            elif step[0] == "p":
                x = F.max_pool2d(x, step[1], step[2])
            else:
                i = step[1]
                x = F.relu(F.conv2d(x, trunk[f"features.{i}.weight"], trunk[f"features.{i}.bias"], step[2], step[3]))
        return out

    total = torch.zeros(a.shape[0])
    for k, (fa, fb) in enumerate(zip(taps(a), taps(b))):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total += F.conv2d((na - nb) ** 2, lins[f"lin{k}.model.1.weight"]).mean(dim=(1, 2, 3))
    return total


def _images(net: str, n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, *SIZES[net], generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_the_reference_definition(net: str, files, metrics) -> None:
    a, b = _images(net, seed=1), _images(net, seed=2)
    got = metrics[net].lpips(a, b)
    torch.testing.assert_close(got, reference_lpips(net, *files[net], a, b), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_zero_for_identical_symmetric_positive_and_growing_with_noise(net: str, metrics) -> None:
    metric = metrics[net]
    a = _images(net, n=1, seed=3)
    noise = torch.randn(a.shape, generator=torch.Generator().manual_seed(4))
    assert float(metric.lpips(a, a)[0]) == pytest.approx(0.0, abs=1e-7)
    b = (a + 0.1 * noise).clamp(0, 1)
    assert float(metric.lpips(a, b)[0]) == pytest.approx(float(metric.lpips(b, a)[0]), rel=1e-5)
    levels = [float(metric.lpips(a, (a + s * noise).clamp(0, 1))[0]) for s in (0.02, 0.08, 0.3)]
    assert 0 < levels[0] < levels[1] < levels[2], levels


def test_batched_equals_one_by_one_and_accepts_single_images(metrics) -> None:
    metric = metrics["alex"]
    a, b = _images("alex", n=5, seed=5), _images("alex", n=5, seed=6)
    batched = metric.lpips(a, b, batch_size=2)
    single = torch.stack([metric.lpips(a[i], b[i])[0] for i in range(5)])
    assert batched.shape == (5,)
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-7)
    assert len(set(batched.tolist())) == 5


def test_is_differentiable_as_a_loss(metrics) -> None:
    a = _images("alex", n=1, seed=7).requires_grad_(True)
    metrics["alex"](a, _images("alex", n=1, seed=8)).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in metrics["alex"].parameters())


def test_small_or_mismatched_images_are_clear_errors(metrics) -> None:
    with pytest.raises(ValueError, match="at least 31x31"):
        metrics["alex"].lpips(torch.rand(1, 3, 30, 40), torch.rand(1, 3, 30, 40))
    with pytest.raises(ValueError, match="one shape"):
        metrics["vgg"].lpips(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 33))


def test_file_formats_are_the_real_ones(files, tmp_path: Path) -> None:
    alex_trunk, alex_lin = files["alex"]
    vgg_trunk, _ = files["vgg"]
    assert zipfile.is_zipfile(alex_trunk) and not zipfile.is_zipfile(vgg_trunk)
    assert not zipfile.is_zipfile(alex_lin)  # lpips' own files predate the zip format
    lin = torch.load(alex_lin, weights_only=True)
    assert {k: tuple(v.shape) for k, v in lin.items()} == {
        "lin0.model.1.weight": (1, 64, 1, 1), "lin1.model.1.weight": (1, 192, 1, 1),
        "lin2.model.1.weight": (1, 384, 1, 1), "lin3.model.1.weight": (1, 256, 1, 1),
        "lin4.model.1.weight": (1, 256, 1, 1)}
    trunk = torch.load(alex_trunk, weights_only=True)
    assert {k for k in trunk if k.startswith("features.")} == {
        f"features.{i}.{t}" for i in (0, 3, 6, 8, 10) for t in ("weight", "bias")}
    assert tuple(trunk["features.0.weight"].shape) == (64, 3, 11, 11)
    from safetensors.torch import save_file  # a safetensors copy of the trunk is accepted too

    save_file({k: v.contiguous() for k, v in trunk.items()}, str(tmp_path / "alex.safetensors"))
    LPIPS.from_weights("alex", tmp_path / "alex.safetensors", alex_lin)


def _edited(src: Path, dst: Path, edit) -> Path:
    state = torch.load(src, weights_only=True)
    edit(state)
    torch.save(state, dst)
    return dst


def test_wrong_files_give_clear_errors(files, tmp_path: Path) -> None:
    alex_trunk, alex_lin = files["alex"]
    vgg_trunk, vgg_lin = files["vgg"]
    with pytest.raises(CheckpointError, match=r"missing key\(s\): features\.10\.bias.*alexnet-owt-7be5be79"):
        LPIPS.from_weights("alex", _edited(alex_trunk, tmp_path / "t.pth", lambda s: s.pop("features.10.bias")),
                           alex_lin)
    with pytest.raises(CheckpointError, match=r"missing key\(s\): features\.3\.bias.*unexpected key\(s\): "
                                              r"features\.12\.bias"):
        LPIPS.from_weights("alex", vgg_trunk, alex_lin)  # a VGG16 file for the AlexNet trunk
    with pytest.raises(CheckpointError, match="linear layers of 'vgg'.*not of 'alex'"):
        LPIPS.from_weights("alex", alex_trunk, vgg_lin)
    with pytest.raises(CheckpointError, match=r"unexpected key\(s\): lin5\.model\.1\.weight"):
        LPIPS.from_weights("alex", alex_trunk, _edited(alex_lin, tmp_path / "l.pth",
                                                       lambda s: s.update({"lin5.model.1.weight": torch.ones(1)})))
    with pytest.raises(CheckpointError, match=r"features\.0\.weight has shape \(64, 3, 3, 3\)"):
        LPIPS.from_weights("alex", _edited(alex_trunk, tmp_path / "s.pth",
                                           lambda s: s.update({"features.0.weight": torch.zeros(64, 3, 3, 3)})),
                           alex_lin)
    with pytest.raises(CheckpointError, match="not found"):
        LPIPS.from_weights("vgg", tmp_path / "absent.pth", vgg_lin)
    with pytest.raises(ValueError, match="unknown LPIPS network"):
        LPIPS("squeeze")
