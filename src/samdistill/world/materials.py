"""Surface appearance: each material turns hit points into albedo (and window / door parts).

Colors are linear albedos; the per-instance base color comes from the scene (drawn from
overlapping per-class distributions), the material modulates it with procedural texture:
asphalt grain and lane markings, paving tiles and curbs, facades with window grids and doors,
concrete walls, fence slats, foliage, bark, car paint, glass, cloth, skin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samdistill.core.labels import TRAIN_ID
from samdistill.world.textures import cell_hash, fbm, grid_lines, value_noise

(GROUND, GRASS, PAVING, FACADE, WALL, FENCE, METAL, SIGN, HOUSING, LAMP, FOLIAGE, BARK, PAINT, GLASS, RUBBER,
 CLOTH, SKIN) = range(17)
WINDOW_PART_BASE = 1 << 20  # window / door part ids live above the scene's own part ids
ROAD, TERRAIN = TRAIN_ID["road"], TRAIN_ID["terrain"]


@dataclass
class Hits:
    """Hit points of one primitive: world position, unit-frame position, world normal."""

    world: np.ndarray  # (n, 3)
    local: np.ndarray  # (n, 3) in the primitive's unit frame
    normal: np.ndarray  # (n, 3)
    half: np.ndarray  # (3,) the primitive's half sizes (m)
    color: np.ndarray  # (3,) the instance's base albedo
    obj: int
    seed: int  # scene seed: textures differ between scenes


@dataclass
class Surface:
    albedo: np.ndarray  # (n, 3)
    part: np.ndarray | None = None  # (n,) part ids (0: keep the primitive's)
    emission: np.ndarray | None = None  # (n, 3) light of its own (traffic lamps)
    cls: np.ndarray | None = None  # (n,) train ids, for the ground only


def shade(material: int, h: Hits, road_half: float) -> Surface:
    if material == GROUND:
        return _ground(h, road_half)
    if material == FACADE:
        return _facade(h)
    n = len(h.world)
    noise = value_noise(h.world, 4.0, h.seed + material)
    scale = {
        GRASS: lambda: 0.6 + 0.8 * fbm(h.world, 3.0, 3, h.seed + 7),
        PAVING: lambda: _paving(h),
        WALL: lambda: (0.8 + 0.3 * fbm(h.world, 1.5, 3, h.seed + 3)) * (1 - 0.3 * grid_lines(_along(h), 2.0, 0.05)),
        FENCE: lambda: 0.55 + 0.7 * grid_lines(_along(h), 0.16, 0.08),
        METAL: lambda: 0.9 + 0.2 * noise,
        SIGN: lambda: np.where(_faces_local_z(h) > 0, 0.6, 1.0) + 0.05 * noise,
        HOUSING: lambda: 0.9 + 0.2 * noise,
        LAMP: lambda: np.ones(n, np.float32),
        FOLIAGE: lambda: 0.45 + 1.1 * fbm(h.world, 2.5, 3, h.seed + 11),
        BARK: lambda: 0.7 + 0.6 * value_noise(h.world * np.float32([1, 0.15, 1]), 12.0, h.seed + 5),
        PAINT: lambda: 0.95 + 0.1 * noise,
        GLASS: lambda: 1.0 + 1.5 * np.clip(h.normal[:, 1], 0, 1),
        RUBBER: lambda: np.ones(n, np.float32),
        CLOTH: lambda: 0.8 + 0.4 * value_noise(h.world, 12.0, h.seed + 9),
        SKIN: lambda: 0.95 + 0.1 * noise,
    }[material]()
    albedo = np.clip(h.color[None, :] * np.asarray(scale, np.float32).reshape(-1, 1), 0.0, 1.0)
    emission = np.broadcast_to(h.color, (n, 3)) * 2.0 if material == LAMP and h.color.max() > 0.5 else None
    return Surface(albedo.astype(np.float32), emission=emission)


def _along(h: Hits) -> np.ndarray:
    """Horizontal coordinate along the longer horizontal axis of a box (m)."""
    axis = 2 if h.half[2] >= h.half[0] else 0
    return h.local[:, axis] * h.half[axis]


def _faces_local_z(h: Hits) -> np.ndarray:
    return np.sign(h.local[:, 2])


def _ground(h: Hits, road_half: float) -> Surface:
    x, z = h.world[:, 0], h.world[:, 2]
    road = np.abs(x) < road_half
    grain = 0.8 + 0.4 * fbm(h.world, 1.7, 3, h.seed + 1)
    asphalt = h.color[None, :] * grain[:, None]
    center = (np.abs(x) < 0.08) & (np.mod(z, 6.0) < 3.0)
    edge = np.abs(np.abs(x) - (road_half - 0.3)) < 0.07
    asphalt[center | edge] = 0.75
    mix = fbm(h.world, 0.35, 2, h.seed + 2)[:, None]
    soil = (1 - mix) * np.float32([0.17, 0.27, 0.08]) + mix * np.float32([0.33, 0.26, 0.16])
    soil = soil * (0.75 + 0.5 * value_noise(h.world, 6.0, h.seed + 4))[:, None]
    albedo = np.where(road[:, None], asphalt, soil).astype(np.float32)
    return Surface(albedo, cls=np.where(road, ROAD, TERRAIN))


def _paving(h: Hits) -> np.ndarray:
    top = h.normal[:, 1] > 0.5
    tiles = 1.0 - 0.35 * np.maximum(grid_lines(h.world[:, 0], 0.6, 0.04), grid_lines(h.world[:, 2], 0.6, 0.04))
    cell = cell_hash(np.floor(h.world[:, 0] / 0.6).astype(np.int64), np.floor(h.world[:, 2] / 0.6).astype(np.int64), h.seed)
    return np.where(top, tiles * (0.85 + 0.3 * cell), 1.3)  # curbs: lighter concrete


def _facade(h: Hits) -> Surface:
    n = len(h.world)
    p, half = h.local, h.half
    axis = np.argmax(np.abs(p), axis=1)  # which face of the box
    wall = axis != 1
    across = np.where(axis == 0, p[:, 2] * half[2], p[:, 0] * half[0])
    height = (p[:, 1] + 1.0) * half[1]
    r = np.random.default_rng([h.seed, h.obj])  # this building's window grid
    cell_w, floor_h = float(r.uniform(2.4, 3.8)), float(r.uniform(2.8, 3.5))
    win_w, win_h = float(r.uniform(0.35, 0.65)), float(r.uniform(0.4, 0.6))
    col = np.floor(across / cell_w).astype(np.int64)
    floor = np.floor(height / floor_h).astype(np.int64)
    fu, fv = across / cell_w - col, height / floor_h - floor
    ground_floor = floor == 0
    door_col = int(r.integers(-2, 2))
    is_door = wall & ground_floor & (col == door_col) & (np.abs(fu - 0.5) < 0.22) & (fv < 0.75)
    shop = float(r.random()) < 0.5  # big shop windows on the ground floor
    ww = np.where(ground_floor & shop, 0.8, win_w)
    wh = np.where(ground_floor & shop, 0.6, win_h)
    is_window = wall & (np.abs(fu - 0.5) < ww / 2) & (np.abs(fv - 0.55) < wh / 2) & ~is_door
    is_window &= height < 2 * half[1] - 0.8  # nothing at the roof line
    brick = float(r.random()) < 0.4
    texture = 0.85 + 0.3 * fbm(h.world, 2.0, 3, h.seed + 13)
    if brick:
        texture *= 1.0 - 0.2 * grid_lines(height, 0.3, 0.05)
    albedo = h.color[None, :] * texture[:, None]
    albedo[~wall] = 0.2 + 0.1 * texture[~wall, None]  # roofs
    lit = cell_hash(col * 7 + axis, floor, h.seed + h.obj)
    glass = np.float32([0.07, 0.09, 0.12]) + (lit[:, None] > 0.8) * np.float32([0.35, 0.3, 0.2])
    albedo = np.where(is_window[:, None], glass, albedo)
    albedo = np.where(is_door[:, None], h.color[None, :] * 0.35, albedo)
    face = axis * 2 + (p[np.arange(n), axis] > 0)
    part_id = WINDOW_PART_BASE + ((h.obj * 6 + face) * 64 + np.clip(floor, 0, 63)) * 128 + np.mod(col, 128)
    part = np.where(is_window | is_door, part_id, 0)
    return Surface(np.clip(albedo, 0, 1).astype(np.float32), part=part)
