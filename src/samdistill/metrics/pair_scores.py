"""PSNR and SSIM of many images at once, fast, with exactly `metrics.psnr_ssim`'s conventions.

`PairScorer(crop_border, y_channel, device)` scores several predictions of one ground truth
(`score(gt, {"restored": ..., "input": ...})`) or a list of pairs (`score_many`):

- on CPU: numpy + scipy's separable 1-D filters. The ground truth's filtered maps are computed
  once and shared by every prediction of it (an evaluation scores the restored image and the
  degraded input against the same GT). Filtering runs in float32 on values centred at 127.5
  (squares stay below 16,300, so E[x^2] - E[x]^2 keeps ~1e-3 absolute precision against the
  SSIM constant C2 = 58.5); tests hold it within 1e-6 of the float64 reference `ssim`.
  PSNR is exact (integer squared errors summed in float64).
- on CUDA: `psnr_torch` / `ssim_torch` (float64) on batches of same-size images.

Images are HWC float in [0, 1] or uint8, quantized as saved (`to_uint8_scale`).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
import torch
from scipy.ndimage import correlate1d

from samdistill.metrics.psnr_ssim import (_C1, _C2, SSIM_WINDOW, _prepare_pair, gaussian_kernel, psnr_torch,
                                          ssim_torch, to_uint8_scale)

_CENTRE = 127.5
_HALF = SSIM_WINDOW // 2
_KERNEL32 = gaussian_kernel().astype(np.float32)


def _filter(maps: np.ndarray) -> np.ndarray:
    """Gaussian filter over the last two axes, keeping the 'valid' region (the window inside).

    Returned TRANSPOSED, (..., W', H'): both passes run along contiguous rows (faster than filtering
    down columns; docs/benchmarks.md), and SSIM only multiplies maps of one layout and averages them."""
    out = correlate1d(maps, _KERNEL32, axis=-1, mode="constant")[..., _HALF:-_HALF]
    out = np.ascontiguousarray(np.swapaxes(out, -1, -2))
    return correlate1d(out, _KERNEL32, axis=-1, mode="constant")[..., _HALF:-_HALF]


@dataclass
class _Reference:
    """A ground truth quantized and centred (C, H, W) float32, and the filtered terms SSIM needs of it."""
    values: np.ndarray
    mean_c: np.ndarray      # local mean, centred
    mean: np.ndarray        # local mean
    mean_sq_c1: np.ndarray  # mean^2 + C1
    var_c2: np.ndarray      # local variance + C2


class PairScorer:
    """PSNR / SSIM of predictions against ground truths; errors name nothing (callers add the image)."""

    def __init__(self, crop_border: int = 0, y_channel: bool = False,
                 device: Union[str, torch.device] = "cpu", batch_size: int = 8, threads: int | None = None):
        if crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {crop_border}")
        self.crop_border, self.y_channel = int(crop_border), bool(y_channel)
        self.device = torch.device(device)
        self.batch_size = max(1, int(batch_size))
        self.threads = max(1, int(threads if threads is not None else torch.get_num_threads()))

    # -- one ground truth, several predictions ------------------------------------------------

    def score(self, gt: np.ndarray, preds: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]]:
        """{key: (PSNR, SSIM)} of every prediction against `gt`."""
        if self.device.type != "cpu":
            keys = list(preds)
            p, s = self._torch_batch([preds[k] for k in keys], [gt] * len(keys))
            return {k: (float(a), float(b)) for k, a, b in zip(keys, p, s)}
        ref = None
        out = {}
        for key, pred in preds.items():
            a, b = self._prepare(pred, gt)
            if ref is None:
                ref = self._reference(b)
            out[key] = (_psnr(a, b), self._ssim(a, ref))
        return out

    # -- many pairs ------------------------------------------------------------------------------

    def score_many(self, preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(PSNR (N,), SSIM (N,)) float64 of pairs; on CUDA in batches of same-size images."""
        if len(preds) != len(gts):
            raise ValueError(f"{len(preds)} predictions for {len(gts)} ground truths")
        if self.device.type != "cpu":
            return self._torch_batch(list(preds), list(gts))
        with ThreadPoolExecutor(self.threads) as pool:  # numpy and scipy's filters release the GIL
            scores = list(pool.map(lambda pair: self.score(pair[1], {"pred": pair[0]})["pred"], zip(preds, gts)))
        return (np.array([s[0] for s in scores], np.float64).reshape(-1),
                np.array([s[1] for s in scores], np.float64).reshape(-1))

    # -- CPU path ------------------------------------------------------------------------------

    def _prepare(self, pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = _prepare_pair(pred, gt, self.crop_border, self.y_channel, None)
        if min(a.shape[:2]) < SSIM_WINDOW:
            raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels "
                             f"(after crop_border), got {a.shape[0]}x{a.shape[1]}")
        return a, b

    @staticmethod
    def _reference(b: np.ndarray) -> _Reference:
        values = (b.transpose(2, 0, 1) - _CENTRE).astype(np.float32)
        mean_c, square = _filter(np.stack([values, values * values]))
        var_c2 = square - mean_c * mean_c + np.float32(_C2)
        mean = mean_c + np.float32(_CENTRE)
        return _Reference(values, mean_c, mean, mean * mean + np.float32(_C1), var_c2)

    @staticmethod
    def _ssim(a: np.ndarray, ref: _Reference) -> float:
        x = (a.transpose(2, 0, 1) - _CENTRE).astype(np.float32)
        mu, var, cov = _filter(np.stack([x, x * x, x * ref.values]))  # centred mean, E[x^2], E[x y]
        t = mu * mu
        var -= t                                 # variance (shift-invariant)
        np.multiply(mu, ref.mean_c, out=t)
        cov -= t                                 # covariance (shift-invariant)
        mu += np.float32(_CENTRE)                # the luminance term needs the real mean
        np.multiply(mu, ref.mean, out=t)
        t *= 2
        t += np.float32(_C1)
        cov *= 2
        cov += np.float32(_C2)
        t *= cov                                 # numerator (2 mu_a mu_b + C1)(2 cov + C2)
        mu *= mu
        mu += ref.mean_sq_c1
        var += ref.var_c2
        mu *= var                                # denominator (mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)
        t /= mu
        per_channel = t.reshape(t.shape[0], -1).mean(axis=1, dtype=np.float64)
        return float(per_channel.mean())

    # -- CUDA path -----------------------------------------------------------------------------

    def _torch_batch(self, preds: list, gts: list) -> tuple[np.ndarray, np.ndarray]:
        psnrs, ssims = np.empty(len(preds)), np.empty(len(preds))
        by_shape: dict[tuple, list[int]] = {}
        for i, (p, g) in enumerate(zip(preds, gts)):
            if np.shape(p) != np.shape(g):
                raise ValueError(f"image shapes differ: pred {np.shape(p)} vs gt {np.shape(g)}")
            by_shape.setdefault(np.shape(p), []).append(i)
        for idx in by_shape.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                a = self._tensor([preds[i] for i in chunk])
                b = self._tensor([gts[i] for i in chunk])
                psnrs[chunk] = psnr_torch(a, b, self.crop_border, self.y_channel).cpu().numpy()
                ssims[chunk] = ssim_torch(a, b, self.crop_border, self.y_channel).cpu().numpy()
        return psnrs, ssims

    def _tensor(self, images: list) -> torch.Tensor:
        # quantize on the host exactly as the numpy path does, then [0, 1] float64 on the device
        batch = np.stack([to_uint8_scale(img) for img in images]) / 255.0
        return torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean(np.square(a - b)))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0 ** 2 / mse)
