"""Fréchet Inception Distance as pytorch-fid computes it, without torchvision.

    extractor = InceptionFeatures.from_weights("pt_inception-2015-12-05-6726825d.pth")
    result = fid_between_folders("restored/", "clean/", extractor)   # or the weight file's path
    print(result)   # FID 12.345 (pytorch-fid resize: ...; 100 vs 100 images) and any caveats

Pipeline (pytorch-fid 0.3): each image in [0, 1] float32 -> resize to 299x299 -> [-1, 1] -> the
FID Inception (`fid_inception.py`) -> 2048-d pool_3 features; per set, the mean and the
covariance (`np.cov`, ddof 1, float64); then the Fréchet distance between the two Gaussians
    d² = |mu1 - mu2|² + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 S2)).

Resize modes (every result names its mode; numbers from different modes are not comparable):
- "pytorch-fid": bilinear, align_corners=False, no antialiasing (F.interpolate), as pytorch-fid.
- "clean-fid": clean-fid's resize: each channel as a float32 PIL image (values 0..255) resized
  with PIL's bicubic filter to 299x299, clipped to [0, 255]. Only the resize is clean-fid's: the
  network stays pytorch-fid's Inception, so these numbers are not clean-fid's own FID either
  (clean-fid feeds StyleGAN's TorchScript Inception).

Folders are read with `data.io.read_image` (8-bit RGB files give exactly the values pytorch-fid's
PIL + ToTensor gives; grayscale, alpha and 16-bit files are converted as that function documents).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg

from samdistill.core.errors import DataError
from samdistill.metrics.fid_inception import FEATURE_DIM, INPUT_SIZE, FIDInceptionV3, load_fid_inception

RESIZE_MODES = {
    "pytorch-fid": "bilinear to 299x299, align_corners=False",
    "clean-fid": "PIL bicubic per channel on float32 to 299x299",
}


class FIDWarning(UserWarning):
    """A FID value that is computed but should be read with care (few images, singular product)."""


class FIDError(ValueError):
    """The Fréchet distance cannot be computed from these statistics."""


# ---------------------------------------------------------------- the distance

def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # "matrix is singular": handled by the finiteness check
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), as pytorch-fid computes it.

    sqrtm(sigma1 @ sigma2) by scipy; if that is not finite, `eps * I` is added to both covariances
    and the root taken again (with a FIDWarning). A complex root whose diagonal has an imaginary
    part above 1e-3 raises FIDError; a smaller one is numerical noise and dropped.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise FIDError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    d = mu1.shape[0]
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise FIDError(f"covariances must be {d}x{d} like the means; got {sigma1.shape} and {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(f"FID: sqrtm(sigma1 @ sigma2) is not finite (singular product); adding {eps:g} * I "
                      "to both covariances", FIDWarning, stacklevel=2)
        offset = np.eye(d) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if not np.isfinite(covmean).all():
            raise FIDError(f"sqrtm of the covariance product is not finite even with {eps:g} * I added; "
                           "the statistics are degenerate (constant features? too few images?)")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = float(np.max(np.abs(covmean.imag)))
            raise FIDError(f"sqrtm(sigma1 @ sigma2) has an imaginary component of {largest:.3g} (tolerance "
                           "1e-3 on its diagonal): the covariances are not positive semi-definite or too "
                           "ill-conditioned; use more images (at least as many as feature dimensions)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (N, D) features in float64, covariance with ddof 1 (np.cov)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise FIDError(f"features must be (N, D); got shape {f.shape}")
    if f.shape[0] < 2:
        raise FIDError(f"FID needs at least 2 images per set (a covariance); got {f.shape[0]}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def few_images_note(n_a: int, n_b: int, dims: int) -> Optional[str]:
    """The caveat of a FID from fewer images than feature dimensions (None when both sets are large enough)."""
    short = [name for name, n in (("first", n_a), ("second", n_b)) if n < dims]
    if not short:
        return None
    which = "both sets" if len(short) == 2 else f"the {short[0]} set"
    return (f"FID from {n_a} vs {n_b} images with {dims}-d features: fewer images than dimensions in {which}, so "
            "the covariance is rank-deficient and the value is biased upwards; compare FIDs only at equal image "
            f"counts (pytorch-fid recommends at least {dims})")


@dataclass(frozen=True)
class FIDResult:
    """A FID value with what produced it. `float(result)` is the value."""

    value: float
    resize: Optional[str]  # "pytorch-fid", "clean-fid", or None when features were given directly
    count_a: int
    count_b: int
    dims: int = FEATURE_DIM
    notes: tuple[str, ...] = field(default_factory=tuple)
    method: str = "sqrtm"  # how Tr sqrt(S1 S2) was computed (see fid_from_features)

    def __float__(self) -> float:
        return self.value

    @property
    def mode(self) -> str:
        if self.resize is None:
            return "features given directly (resize mode unknown)"
        return f"{self.resize} resize: {RESIZE_MODES[self.resize]}"

    def __str__(self) -> str:
        return f"FID {self.value:.3f} ({self.mode}; {self.count_a} vs {self.count_b} images)"

    def to_dict(self) -> dict:
        return {"fid": self.value, "resize": self.resize, "mode": self.mode, "count_a": self.count_a,
                "count_b": self.count_b, "dims": self.dims, "method": self.method, "notes": list(self.notes)}


FID_METHODS = ("sqrtm", "svd")
FID_METHOD = "sqrtm"  # default of fid_from_features: pytorch-fid's computation


def _fid_svd(features_a: np.ndarray, features_b: np.ndarray, mu1, s1, mu2, s2) -> float:
    """Same distance without a D x D square root: Tr sqrtm(S1 S2) is the sum of the singular values
    of A B^T, with S1 = A^T A, S2 = B^T B (A, B the centred features / sqrt(n - 1)), since S1 S2 and
    (A B^T)(A B^T)^T share their non-zero eigenvalues. O(n1 n2 D): fast for small sets."""
    a = (np.asarray(features_a, np.float64) - mu1) / np.sqrt(len(features_a) - 1)
    b = (np.asarray(features_b, np.float64) - mu2) / np.sqrt(len(features_b) - 1)
    nuclear = float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * nuclear)


def fid_from_features(features_a: np.ndarray, features_b: np.ndarray, resize: Optional[str] = None,
                      eps: float = 1e-6, method: Optional[str] = None) -> FIDResult:
    """FID between two (N, D) feature sets; warns (FIDWarning) when a set has fewer images than D.

    `method`: "sqrtm" (default; pytorch-fid's computation, `frechet_distance`) or "svd" (the same
    quantity from the features without a D x D matrix root: exact, and much faster for a few
    hundred images, whereas sqrtm of 2048 x 2048 takes seconds to tens of seconds on a CPU).
    """
    method = FID_METHOD if method is None else method
    if method not in FID_METHODS:
        raise ValueError(f"unknown FID method {method!r}; choose one of {', '.join(FID_METHODS)}")
    if resize is not None and resize not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}")
    mu1, s1 = feature_statistics(features_a)
    mu2, s2 = feature_statistics(features_b)
    if mu1.shape != mu2.shape:
        raise FIDError(f"feature sets differ in dimension: {mu1.shape[0]} vs {mu2.shape[0]}")
    dims = mu1.shape[0]
    n_a, n_b = len(features_a), len(features_b)
    note = few_images_note(n_a, n_b, dims)
    if note:
        warnings.warn(note, FIDWarning, stacklevel=2)
    if method == "svd":
        value = _fid_svd(features_a, features_b, mu1, s1, mu2, s2)
    else:
        value = frechet_distance(mu1, s1, mu2, s2, eps)
    return FIDResult(value, resize, n_a, n_b, dims, (note,) if note else (), method)


# ---------------------------------------------------------------- features

def clean_fid_resize(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """clean-fid's resize of an (H, W, 3) image in [0, 1]: PIL bicubic on each channel as a float32
    'F' image with values 0..255, clipped to [0, 255]; returned (size, size, 3) float32 in [0, 1]."""
    from PIL import Image

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {img.shape}")
    channels = []
    for c in range(3):
        plane = Image.fromarray(np.ascontiguousarray(img[:, :, c] * 255.0, dtype=np.float32))  # mode "F"
        channels.append(np.asarray(plane.resize((size, size), resample=Image.BICUBIC)).clip(0, 255))
    return (np.stack(channels, axis=2) / 255.0).astype(np.float32)


class InceptionFeatures:
    """Batched pool_3 features of the FID Inception, on a chosen device, with a chosen resize mode.

    `extractor(batch)` takes a (B, 3, H, W) tensor in [0, 1]; `extractor.features(images)` takes
    an iterable of (H, W, 3) float arrays in [0, 1] of any sizes. Both return float64 (B, 2048).
    """

    def __init__(self, network: FIDInceptionV3, device: str | torch.device = "cpu", batch_size: int = 50,
                 resize: str = "pytorch-fid", weights: Optional[str] = None) -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.batch_size = batch_size
        self.resize = resize
        self.weights = weights

    @classmethod
    def from_weights(cls, path: str | Path, device: str | torch.device = "cpu", batch_size: int = 50,
                     resize: str = "pytorch-fid") -> "InceptionFeatures":
        """Load pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (strict, weights_only)."""
        return cls(load_fid_inception(path), device, batch_size, resize, weights=Path(path).name)

    @property
    def mode(self) -> str:
        return f"{self.resize} resize: {RESIZE_MODES[self.resize]}"

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) float in [0, 1] -> (1, 3, 299, 299) in [0, 1] on the device, by this mode."""
        img = np.asarray(image, dtype=np.float32)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {img.shape}")
        if self.resize == "clean-fid":
            return torch.from_numpy(clean_fid_resize(img)).permute(2, 0, 1)[None].to(self.device)
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(self.device)
        return F.interpolate(t, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def _forward_prepared(self, batch: torch.Tensor) -> np.ndarray:
        return self.network(batch, resize=False).double().cpu().numpy()

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        """(B, 3, H, W) in [0, 1] -> (B, 2048) float64, in chunks of batch_size."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) images, got shape {tuple(images.shape)}")
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start:start + self.batch_size].float()
            if self.resize == "clean-fid":
                arrays = chunk.permute(0, 2, 3, 1).cpu().numpy()
                prepared = torch.cat([self.prepare(a) for a in arrays])
            else:
                prepared = F.interpolate(chunk.to(self.device), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                                         align_corners=False)
            out.append(self._forward_prepared(prepared))
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))

    def collector(self) -> "FeatureCollector":
        return FeatureCollector(self)

    def features(self, images: Iterable[np.ndarray], total: Optional[int] = None, progress: bool = False,
                 desc: str = "FID features") -> np.ndarray:
        """Features of (H, W, 3) images in [0, 1] (sizes may differ), `batch_size` at a time."""
        from tqdm import tqdm

        collector = self.collector()
        for image in tqdm(images, total=total, desc=desc, unit="img", disable=not progress):
            collector.add(image)
        return collector.result()


class FeatureCollector:
    """Add images one at a time; they are resized at once and run through the network in batches."""

    def __init__(self, extractor: InceptionFeatures) -> None:
        self.extractor = extractor
        self._pending: list[torch.Tensor] = []
        self._done: list[np.ndarray] = []

    def add(self, image: np.ndarray) -> None:
        self._pending.append(self.extractor.prepare(image))
        if len(self._pending) >= self.extractor.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._done.append(self.extractor._forward_prepared(torch.cat(self._pending)))
            self._pending = []

    def __len__(self) -> int:
        return sum(len(d) for d in self._done) + len(self._pending)

    def result(self) -> np.ndarray:
        self._flush()
        return np.concatenate(self._done) if self._done else np.zeros((0, FEATURE_DIM))


# ---------------------------------------------------------------- folders

def folder_images(folder: str | Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name (pytorch-fid does not recurse either)."""
    from samdistill.data.io import is_image_file

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder not found")
    files = sorted(p for p in folder.iterdir() if is_image_file(p))
    if len(files) < 2:
        raise DataError(f"{folder}: FID needs at least 2 images, found {len(files)}")
    return files


def folder_features(folder: str | Path, extractor: InceptionFeatures, progress: bool = True) -> np.ndarray:
    from samdistill.data.io import read_image

    files = folder_images(folder)
    return extractor.features((read_image(p) for p in files), total=len(files), progress=progress,
                              desc=f"FID {Path(folder).name}")


def fid_between_folders(folder_a: str | Path, folder_b: str | Path, weights: str | Path | InceptionFeatures,
                        resize: str = "pytorch-fid", device: str | torch.device = "cpu", batch_size: int = 50,
                        progress: bool = True, method: Optional[str] = None) -> FIDResult:
    """FID between the images of two folders (top level, sorted), with a progress bar per folder.

    `weights`: the path of pytorch-fid's Inception file, or an InceptionFeatures (then its own
    resize mode, device and batch size are used and the other arguments are ignored).
    """
    extractor = weights if isinstance(weights, InceptionFeatures) else InceptionFeatures.from_weights(
        weights, device=device, batch_size=batch_size, resize=resize)
    feats_a = folder_features(folder_a, extractor, progress)
    feats_b = folder_features(folder_b, extractor, progress)
    return fid_from_features(feats_a, feats_b, resize=extractor.resize, method=method)


def fid_between_images(images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray],
                       extractor: InceptionFeatures, method: Optional[str] = None) -> FIDResult:
    """FID between two in-memory sets of (H, W, 3) images in [0, 1]."""
    return fid_from_features(extractor.features(images_a), extractor.features(images_b), resize=extractor.resize,
                             method=method)


__all__ = ["frechet_distance", "feature_statistics", "fid_from_features", "FIDResult", "FIDWarning", "FIDError",
           "InceptionFeatures", "FeatureCollector", "clean_fid_resize", "fid_between_folders",
           "fid_between_images", "folder_features", "RESIZE_MODES", "FID_METHODS"]
