"""The two cameras of the street world: a pinhole (Cityscapes-like source) and an
equirectangular panorama (DensePASS-like target), both looking from `origin`.

World axes: x to the right of the street's direction, y up, z along the street. A camera's
heading `yaw` turns it about y (0 looks along +z, positive turns towards +x).
Pixel centers are at integer + 0.5. Each camera also bounds the pixels a world box can cover
(`pixel_rect`), which lets the renderer test a primitive only against rays that may hit it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from samdistill.world.geometry import yaw_matrix

Rect = tuple[int, int, int, int]  # row0, row1, col0, col1 (half-open; equirect columns may wrap)


@dataclass
class PinholeCamera:
    height: int
    width: int
    origin: tuple[float, float, float]
    hfov_deg: float = 70.0
    yaw: float = 0.0
    pitch: float = 0.0  # radians, positive looks up

    @property
    def focal(self) -> float:
        return (self.width / 2) / math.tan(math.radians(self.hfov_deg) / 2)

    @property
    def rotation(self) -> np.ndarray:
        """camera -> world (columns: right, up, forward)."""
        c, s = math.cos(self.pitch), math.sin(self.pitch)
        pitch = np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
        return yaw_matrix(self.yaw) @ pitch

    def directions(self) -> np.ndarray:
        """`(H*W, 3)` float32 unit ray directions, row-major."""
        rows, cols = np.mgrid[0:self.height, 0:self.width].astype(np.float64) + 0.5
        cam = np.stack([(cols - self.width / 2) / self.focal, -(rows - self.height / 2) / self.focal,
                        np.ones_like(rows)], -1).reshape(-1, 3)
        d = cam @ self.rotation.T
        return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)

    def depth(self, t: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """z-depth along the optical axis (the Cityscapes/KITTI convention) from ray distances."""
        forward = self.rotation[:, 2].astype(np.float32)
        return t * (dirs @ forward)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points -> (row, col, z in camera), pixel-center convention."""
        cam = (np.asarray(points, np.float64) - self.origin) @ self.rotation
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            col = self.focal * cam[:, 0] / z + self.width / 2 - 0.5
            row = -self.focal * cam[:, 1] / z + self.height / 2 - 0.5
        return row, col, z

    def pixel_rect(self, corners: np.ndarray) -> list[Rect]:
        """Pixels a convex body with these AABB corners can cover (conservative)."""
        row, col, z = self.project(corners)
        if np.all(z <= 0):
            return []
        if np.any(z <= 1e-3):  # straddles the camera plane: no finite bound
            return [(0, self.height, 0, self.width)]
        r0, r1 = max(0, math.floor(row.min())), min(self.height, math.ceil(row.max()) + 2)
        c0, c1 = max(0, math.floor(col.min())), min(self.width, math.ceil(col.max()) + 2)
        return [(r0, r1, c0, c1)] if r0 < r1 and c0 < c1 else []


@dataclass
class EquirectCamera:
    """360 degrees horizontally; `vfov_deg` vertically around `center_elevation` (radians).
    Column 0 and column W-1 are neighbours across the seam, behind the camera; the image
    center looks along `yaw`."""

    height: int
    width: int
    origin: tuple[float, float, float]
    vfov_deg: float = 70.0
    yaw: float = 0.0
    center_elevation: float = 0.0

    @property
    def top_elevation(self) -> float:
        return self.center_elevation + math.radians(self.vfov_deg) / 2

    def pixel_to_angles(self, row, col) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth relative to the heading in [-pi, pi), elevation), pixel centers at +0.5."""
        azimuth = (np.asarray(col, np.float64) + 0.5) / self.width * 2 * math.pi - math.pi
        elevation = self.top_elevation - (np.asarray(row, np.float64) + 0.5) / self.height * math.radians(self.vfov_deg)
        return azimuth, elevation

    def angles_to_direction(self, azimuth, elevation) -> np.ndarray:
        az, el = np.asarray(azimuth) + self.yaw, np.asarray(elevation)
        return np.stack([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], -1)

    def direction_to_pixel(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit directions -> (row, col) as floats; col in [-0.5, W - 0.5) wraps at the seam."""
        d = np.asarray(d, np.float64)
        azimuth = np.arctan2(d[..., 0], d[..., 2]) - self.yaw
        azimuth = (azimuth + math.pi) % (2 * math.pi) - math.pi
        elevation = np.arcsin(np.clip(d[..., 1], -1.0, 1.0))
        col = (azimuth + math.pi) / (2 * math.pi) * self.width - 0.5
        row = (self.top_elevation - elevation) / math.radians(self.vfov_deg) * self.height - 0.5
        return row, col

    def directions(self) -> np.ndarray:
        az, _ = self.pixel_to_angles(0, np.arange(self.width))
        _, el = self.pixel_to_angles(np.arange(self.height), 0)
        az = az + self.yaw
        # separable: trigonometry on one row and one column, then outer products
        cos_el, sin_el = np.cos(el)[:, None], np.sin(el)[:, None]
        d = np.empty((self.height, self.width, 3), np.float32)
        d[..., 0] = np.sin(az)[None, :] * cos_el
        d[..., 1] = sin_el
        d[..., 2] = np.cos(az)[None, :] * cos_el
        return d.reshape(-1, 3)

    def depth(self, t: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """Euclidean range along each ray (the usual convention for 360 depth)."""
        return t

    def pixel_rect(self, corners: np.ndarray) -> list[Rect]:
        lo, hi = corners.min(0) - self.origin, corners.max(0) - self.origin
        # horizontal distances from the camera to the box footprint: nearest and farthest
        dx = max(lo[0], 0.0, -hi[0])
        dz = max(lo[2], 0.0, -hi[2])
        d_min = math.hypot(dx, dz)
        d_max = max(math.hypot(x, z) for x in (lo[0], hi[0]) for z in (lo[2], hi[2]))
        el_hi = math.atan2(hi[1], d_min if hi[1] > 0 else d_max)
        el_lo = math.atan2(lo[1], d_min if lo[1] < 0 else d_max)
        per_row = math.radians(self.vfov_deg) / self.height
        r0 = max(0, math.floor((self.top_elevation - el_hi) / per_row) - 1)
        r1 = min(self.height, math.ceil((self.top_elevation - el_lo) / per_row) + 1)
        if r0 >= r1:
            return []
        cols = self._azimuth_columns(lo, hi, d_min)
        if cols is None:
            return [(r0, r1, 0, self.width)]
        c0, c1 = cols
        return [(r0, r1, c0, c1)]

    def _azimuth_columns(self, lo: np.ndarray, hi: np.ndarray, d_min: float) -> Optional[tuple[int, int]]:
        """Column span (c0 < c1, may leave [0, W): wraps) of a footprint not containing the camera."""
        if d_min <= 1e-6:
            return None
        angles = np.array([math.atan2(x, z) - self.yaw for x in (lo[0], hi[0]) for z in (lo[2], hi[2])])
        ref = angles[0]
        diff = (angles - ref + math.pi) % (2 * math.pi) - math.pi  # the footprint spans < 180 degrees
        a0, a1 = ref + diff.min(), ref + diff.max()
        a0 = (a0 + math.pi) % (2 * math.pi) - math.pi
        a1 = a0 + (diff.max() - diff.min())
        per_col = 2 * math.pi / self.width
        c0 = math.floor((a0 + math.pi) / per_col) - 1
        c1 = math.ceil((a1 + math.pi) / per_col) + 1
        if c1 - c0 >= self.width:
            return None
        return c0, c1


def rect_indices(rect: Rect, width: int) -> np.ndarray:
    """Flat row-major pixel indices of a rectangle; columns taken modulo `width` (the seam)."""
    r0, r1, c0, c1 = rect
    cols = np.arange(c0, c1) % width
    return (np.arange(r0, r1)[:, None] * width + cols[None, :]).reshape(-1)
