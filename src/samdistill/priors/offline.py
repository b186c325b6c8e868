"""Offline "segment everything": Felzenszwalb or SLIC superpixels from scikit-image.

A classical stand-in for SAM when no checkpoint is available. It returns the same `MaskSet`
type, one mask per segment: one partition (disjoint masks covering the image), or with
`extra_scales` the union of Felzenszwalb partitions at several scales, whose masks overlap
and nest (object / part) as SAM's multi-granularity masks do. There
are no model scores, so predicted IoU and stability are NaN. Both algorithms are
deterministic for a given image and parameters.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from samdistill.priors.config import OfflineSegmenterConfig
from samdistill.priors.maskset import MaskSet
from samdistill.priors.base import SegmenterBase, check_image

# Bump when the output for the same parameters changes (invalidates cached masks).
OFFLINE_VERSION = 1
SLIC_START_LABEL = 0


class OfflineSegmenter(SegmenterBase):
    def __init__(self, cfg: Optional[OfflineSegmenterConfig] = None):
        self.cfg = cfg or OfflineSegmenterConfig()

    def __call__(self, image: np.ndarray) -> MaskSet:
        image = check_image(image)
        masks = labels_to_maskset(self.label_map(image)).masks
        if self.cfg.method == "felzenszwalb" and self.cfg.extra_scales:
            levels = [masks] + [labels_to_maskset(self.label_map(image, s)).masks for s in self.cfg.extra_scales]
            masks = unique_masks(np.concatenate(levels))
        return MaskSet(masks)

    def label_map(self, image: np.ndarray, scale: Optional[float] = None) -> np.ndarray:
        """One partition: Felzenszwalb at `scale` (default: the config's), or SLIC."""
        from skimage import segmentation

        c = self.cfg
        if c.method == "felzenszwalb":
            return segmentation.felzenszwalb(
                image, scale=scale or c.scale, sigma=c.sigma, min_size=c.min_size, channel_axis=-1
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
            if c.extra_scales:  # absent when unused: one-partition cache entries stay valid
                params["extra_scales"] = list(c.extra_scales)
        else:
            params = {"n_segments": c.n_segments, "compactness": c.compactness, "sigma": c.sigma,
                      "start_label": SLIC_START_LABEL}
        return {"backend": "offline", "method": c.method, **params,
                "skimage": skimage.__version__, "version": OFFLINE_VERSION}


def unique_masks(masks: np.ndarray) -> np.ndarray:
    """Drop exact repeats (a segment found at two scales), keeping first occurrences in order."""
    packed = np.packbits(masks.reshape(len(masks), -1), axis=1)
    _, first = np.unique(packed, axis=0, return_index=True)
    return masks[np.sort(first)]


def labels_to_maskset(labels: np.ndarray) -> MaskSet:
    """One boolean mask per distinct label, in increasing label order."""
    values = np.unique(labels)
    # Built column-major per mask (a transposed view), the layout COCO RLE encoding reads:
    # saves transposing hundreds of full-size masks when they are cached.
    masks = np.ascontiguousarray(labels.T)[None, :, :] == values[:, None, None]
    return MaskSet(masks.transpose(0, 2, 1))
