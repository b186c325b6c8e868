"""Offline "segment everything": Felzenszwalb or SLIC superpixels from scikit-image.

A classical stand-in for SAM when no checkpoint is available. It returns the same `MaskSet`
type, one mask per segment, so the masks never overlap and together cover the image. There
are no model scores, so predicted IoU and stability are NaN. Both algorithms are
deterministic for a given image and parameters.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from samdistill.priors.config import OfflineSegmenterConfig
from samdistill.priors.maskset import MaskSet
from samdistill.priors.segmenter import SegmenterBase, check_image

# Bump when the output for the same parameters changes (invalidates cached masks).
OFFLINE_VERSION = 1
SLIC_START_LABEL = 0


class OfflineSegmenter(SegmenterBase):
    def __init__(self, cfg: Optional[OfflineSegmenterConfig] = None):
        self.cfg = cfg or OfflineSegmenterConfig()

    def __call__(self, image: np.ndarray) -> MaskSet:
        labels = self.label_map(check_image(image))
        return labels_to_maskset(labels)

    def label_map(self, image: np.ndarray) -> np.ndarray:
        from skimage import segmentation

        c = self.cfg
        if c.method == "felzenszwalb":
            return segmentation.felzenszwalb(
                image, scale=c.scale, sigma=c.sigma, min_size=c.min_size, channel_axis=-1
            )
        return segmentation.slic(
            image, n_segments=c.n_segments, compactness=c.compactness, sigma=c.sigma,
            start_label=SLIC_START_LABEL, channel_axis=-1,
        )

    def fingerprint(self) -> dict[str, Any]:
        import skimage

        c = self.cfg
        # Only the parameters the chosen method reads: changing SLIC's n_segments must not
        # invalidate cached Felzenszwalb masks. The scikit-image version is included because
        # its algorithms may change between releases.
        if c.method == "felzenszwalb":
            params = {"scale": c.scale, "sigma": c.sigma, "min_size": c.min_size}
        else:
            params = {"n_segments": c.n_segments, "compactness": c.compactness, "sigma": c.sigma,
                      "start_label": SLIC_START_LABEL}
        return {"backend": "offline", "method": c.method, **params,
                "skimage": skimage.__version__, "version": OFFLINE_VERSION}


def labels_to_maskset(labels: np.ndarray) -> MaskSet:
    """One boolean mask per distinct label, in increasing label order."""
    values = np.unique(labels)
    # Built column-major per mask (a transposed view), the layout COCO RLE encoding reads:
    # saves transposing hundreds of full-size masks when they are cached.
    masks = np.ascontiguousarray(labels.T)[None, :, :] == values[:, None, None]
    return MaskSet(masks.transpose(0, 2, 1))
