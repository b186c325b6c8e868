"""Primitives of the street world and exact ray intersections, vectorized over rays.

Every primitive is a canonical shape in its own frame, placed by a center, a rotation (local ->
world columns) and per-axis half sizes: the unit cube `[-1, 1]^3` (a box), the unit cylinder
along local y (`x^2 + z^2 <= 1`, `|y| <= 1`, capped) or the unit sphere (an ellipsoid once
scaled). A ray is mapped into the unit frame *without* renormalizing its direction, so the hit
parameter `t` is the same in both frames: `t` is the distance along a unit world direction.
The ground is the plane `y = 0`, seen from above.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BOX, CYLINDER, ELLIPSOID, GROUND = 0, 1, 2, 3
KIND_NAMES = {BOX: "box", CYLINDER: "cylinder", ELLIPSOID: "ellipsoid", GROUND: "ground"}
EPS = 1e-4  # hits closer than this (a ray leaving a surface) are ignored
MISS = np.inf


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about the vertical (y) axis; yaw 0 keeps local axes = world axes."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def axis_to_x(yaw: float = 0.0) -> np.ndarray:
    """A rotation whose local y axis points along world x (then yawed): a cylinder lying sideways
    (a wheel's axle across a car)."""
    lay = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # local y -> world x
    return yaw_matrix(yaw) @ lay


@dataclass
class Primitive:
    kind: int
    center: tuple[float, float, float]
    half: tuple[float, float, float]
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    cls: int = 255  # Cityscapes train id
    obj: int = 0  # object id (several primitives can make one object)
    material: int = 0
    part: int = 0  # 0: not a part; else a part id, unique in the scene
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)  # linear albedo of this instance


class PrimitiveTable:
    """Column arrays of a scene's primitives (what the vectorized code reads)."""

    def __init__(self, prims: list[Primitive]):
        n = len(prims)
        self.n = n
        self.kind = np.array([p.kind for p in prims], np.int64).reshape(n)
        self.center = np.array([p.center for p in prims], np.float64).reshape(n, 3)
        self.half = np.array([p.half for p in prims], np.float64).reshape(n, 3)
        self.rotation = np.array([p.rotation for p in prims], np.float64).reshape(n, 3, 3)
        self.cls = np.array([p.cls for p in prims], np.int64).reshape(n)
        self.obj = np.array([p.obj for p in prims], np.int64).reshape(n)
        self.material = np.array([p.material for p in prims], np.int64).reshape(n)
        self.part = np.array([p.part for p in prims], np.int64).reshape(n)
        self.color = np.array([p.color for p in prims], np.float64).reshape(n, 3)
        self.aabb_min, self.aabb_max = self._aabbs()

    def _aabbs(self) -> tuple[np.ndarray, np.ndarray]:
        # |R| @ half bounds every shape inscribed in its box (exact for boxes).
        extent = np.einsum("nij,nj->ni", np.abs(self.rotation), self.half)
        lo, hi = self.center - extent, self.center + extent
        ground = self.kind == GROUND
        lo[ground], hi[ground] = (-np.inf, 0.0, -np.inf), (np.inf, 0.0, np.inf)
        return lo, hi

    def corners(self, i: int) -> np.ndarray:
        """`(8, 3)` corners of primitive i's world AABB."""
        lo, hi = self.aabb_min[i], self.aabb_max[i]
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def to_unit_frame(table: PrimitiveTable, i: int, origins: np.ndarray, dirs: np.ndarray):
    """Rays in primitive i's unit frame: (o', d'), both (n, 3) float32."""
    rot = table.rotation[i].astype(np.float32)
    inv_half = (1.0 / table.half[i]).astype(np.float32)
    o = (origins - table.center[i].astype(np.float32)) @ rot * inv_half
    d = dirs @ rot * inv_half
    return o, d


def intersect(table: PrimitiveTable, i: int, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Nearest hit distance `t > EPS` of each ray with primitive i, `inf` where it misses.
    `origins` may be one point `(3,)` (a camera) or one per ray `(n, 3)`."""
    kind = table.kind[i]
    if kind == GROUND:
        return _ground(np.broadcast_to(origins, dirs.shape), dirs)
    o, d = to_unit_frame(table, i, origins, dirs)
    o = np.broadcast_to(o, d.shape)
    if kind == BOX:
        return _unit_box(o, d)
    if kind == CYLINDER:
        return _unit_cylinder(o, d)
    return _unit_sphere(o, d)


def local_hit(table: PrimitiveTable, i: int, origins, dirs, t) -> tuple[np.ndarray, np.ndarray]:
    """(hit point in the unit frame, world normal) for rays known to hit primitive i at `t`."""
    if table.kind[i] == GROUND:
        points = np.broadcast_to(origins, dirs.shape) + dirs * t[:, None]
        normal = np.zeros_like(points)
        normal[:, 1] = 1.0
        return points, normal
    o, d = to_unit_frame(table, i, origins, dirs)
    p = o + d * t[:, None]
    kind = table.kind[i]
    if kind == BOX:
        axis = np.argmax(np.abs(p), axis=1)
        n_local = np.zeros_like(p)
        n_local[np.arange(len(p)), axis] = np.sign(p[np.arange(len(p)), axis])
    elif kind == CYLINDER:
        cap = np.abs(p[:, 1]) >= 1.0 - 1e-4
        n_local = np.stack([p[:, 0], np.zeros_like(p[:, 1]), p[:, 2]], 1)
        n_local[cap] = 0.0
        n_local[cap, 1] = np.sign(p[cap, 1])
    else:
        n_local = p.copy()
    # normals transform with the inverse transpose of (R * half): R @ (n / half)
    n_world = (n_local / table.half[i].astype(np.float32)) @ table.rotation[i].T.astype(np.float32)
    n_world /= np.maximum(np.linalg.norm(n_world, axis=1, keepdims=True), 1e-12)
    return p, n_world


def _ground(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -o[:, 1] / d[:, 1]
    return np.where((d[:, 1] < 0) & (o[:, 1] >= 0) & (t > EPS), t, MISS).astype(np.float32)


def _unit_box(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1, t2 = (-1.0 - o) * inv, (1.0 - o) * inv
    # a direction component of exactly 0 gives -inf/inf (nan exactly on a slab's plane: a miss)
    lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
    # column-wise: much faster than a reduction over an axis of length 3
    t_near = np.maximum(np.maximum(lo[:, 0], lo[:, 1]), lo[:, 2])
    t_far = np.minimum(np.minimum(hi[:, 0], hi[:, 1]), hi[:, 2])
    hit = (t_far >= t_near) & (t_near > EPS)
    return np.where(hit, t_near, MISS).astype(np.float32)


def _unit_cylinder(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    a = d[:, 0] ** 2 + d[:, 2] ** 2
    b = 2.0 * (o[:, 0] * d[:, 0] + o[:, 2] * d[:, 2])
    c = o[:, 0] ** 2 + o[:, 2] ** 2 - 1.0
    disc = b * b - 4.0 * a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a)
        y_side = o[:, 1] + t_side * d[:, 1]
        side_ok = (disc >= 0) & (a > 1e-12) & (t_side > EPS) & (np.abs(y_side) <= 1.0)
        t_side = np.where(side_ok, t_side, MISS)
        # caps: the one facing the ray (y = -sign(dy))
        t_cap = (-np.sign(d[:, 1]) - o[:, 1]) / d[:, 1]
        xc, zc = o[:, 0] + t_cap * d[:, 0], o[:, 2] + t_cap * d[:, 2]
        cap_ok = (d[:, 1] != 0) & (t_cap > EPS) & (xc * xc + zc * zc <= 1.0)
    t_cap = np.where(cap_ok, t_cap, MISS)
    return np.minimum(t_side, t_cap).astype(np.float32)


def _unit_sphere(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    a = np.einsum("ij,ij->i", d, d)
    b = 2.0 * np.einsum("ij,ij->i", o, d)
    c = np.einsum("ij,ij->i", o, o) - 1.0
    disc = b * b - 4.0 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a)
    return np.where((disc >= 0) & (t > EPS), t, MISS).astype(np.float32)
