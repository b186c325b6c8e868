"""Procedural street scenes: one seeded generator, two domains (source pinhole, target panorama).

A straight street along z: road (|x| < road_half, lane markings), raised sidewalks with curbs,
building rows with varied width / height / depth / setback, walls and fences in the gaps,
street lamps, traffic signs and lights, trees (trunk + crown) and hedges, grass patches,
parked and moving cars, trucks, buses, cyclists and motorcyclists with riders, pedestrians.
Objects of one kind are placed along *tracks* (a side and a lateral zone) without overlapping.
`SceneParams` holds every statistic; `SOURCE` and `TARGET` differ on purpose (street width,
building height, traffic, vegetation), as DensePASS' cities differ from Cityscapes'.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from samdistill.core.labels import TRAIN_ID
from samdistill.world import materials as M
from samdistill.world.geometry import BOX, CYLINDER, ELLIPSOID, GROUND, Primitive, axis_to_x, yaw_matrix

SKY_OBJ, ROAD_OBJ, TERRAIN_LEFT_OBJ, TERRAIN_RIGHT_OBJ = 1, 2, 3, 4
# Every Cityscapes class the generator places, by train id: all 19 but `train` (16).
WORLD_CLASSES = tuple(i for i in range(19) if i != TRAIN_ID["train"])
FIRST_OBJ = 10
SIDEWALK_HEIGHT = 0.15
PARKED_OFFSET = 1.1  # parked cars' center, metres in from the curb


@dataclass(frozen=True)
class SceneParams:
    half_length: float = 110.0  # street from -L to L (m)
    road_half: tuple[float, float] = (5.0, 8.0)  # uniform ranges (low, high)
    sidewalk: tuple[float, float] = (2.5, 4.5)
    setback: tuple[float, float] = (0.0, 4.0)
    building_width: tuple[float, float] = (8.0, 22.0)
    building_height: tuple[float, float] = (6.0, 24.0)
    building_depth: tuple[float, float] = (12.0, 22.0)
    gap_prob: float = 0.3  # a gap (wall / fence / greenery) instead of the next building
    closed_ends: float = 0.6  # probability that buildings close the street's far ends
    lamp_spacing: tuple[float, float] = (18.0, 30.0)
    tree_spacing: tuple[float, float] = (7.0, 16.0)
    tree_prob: float = 0.7  # per side
    parked_per_10m: float = 1.2
    moving_cars: tuple[int, int] = (1, 5)
    large_vehicle_prob: float = 0.35  # per scene, each: a truck, a bus in traffic
    cyclists: tuple[int, int] = (0, 2)
    pedestrians: tuple[int, int] = (4, 12)
    signs: tuple[int, int] = (2, 5)
    traffic_lights: tuple[int, int] = (1, 3)
    grass_patches: tuple[int, int] = (1, 4)


SOURCE = SceneParams()
TARGET = replace(
    SOURCE, road_half=(4.2, 6.5), sidewalk=(2.0, 3.5), setback=(0.0, 2.0), building_height=(9.0, 34.0),
    building_width=(6.0, 16.0), gap_prob=0.2, parked_per_10m=1.6, moving_cars=(2, 7), cyclists=(1, 3),
    pedestrians=(8, 20), tree_prob=0.5, signs=(3, 7),
)
DOMAINS = {"source": SOURCE, "target": TARGET}


@dataclass
class Scene:
    prims: list[Primitive]
    road_half: float
    sidewalk: float
    ego: tuple[float, float]  # (x, z) of the camera's car on the road
    stuff_objects: set[int] = field(default_factory=set)  # split into connected regions when labeled
    seed: int = 0


def lane_x(road_half: float, side: int) -> float:
    """Center of the driving lane on one side: beside the parked cars, with clearance."""
    return side * max(road_half - PARKED_OFFSET - 2.0, 1.0)


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def jitter(rng: np.random.Generator, color: tuple[float, float, float], spread: float) -> tuple[float, ...]:
    """A per-instance color: the class color moved by up to `spread` per channel (shared + own)."""
    shared = rng.uniform(-spread, spread)
    own = rng.uniform(-spread / 2, spread / 2, 3)
    return tuple(float(v) for v in np.clip(np.asarray(color) + shared + own, 0.02, 0.95))


class _Builder:
    """Accumulates primitives, gives out object and part ids, and tracks occupied street slots."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.prims: list[Primitive] = []
        self.next_obj = FIRST_OBJ
        self.next_part = 1
        self.stuff: set[int] = {SKY_OBJ, ROAD_OBJ, TERRAIN_LEFT_OBJ, TERRAIN_RIGHT_OBJ}
        self.tracks: dict[tuple, list[tuple[float, float]]] = {}

    def new_object(self, stuff: bool = False) -> int:
        obj, self.next_obj = self.next_obj, self.next_obj + 1
        if stuff:
            self.stuff.add(obj)
        return obj

    def new_part(self) -> int:
        part, self.next_part = self.next_part, self.next_part + 1
        return part

    def add(self, kind, center, half, cls, obj, material, color, rotation=None, part=0) -> None:
        self.prims.append(Primitive(kind, tuple(map(float, center)), tuple(map(float, half)),
                                    np.eye(3) if rotation is None else rotation, TRAIN_ID[cls], obj,
                                    material, part, tuple(color)))

    def reserve(self, track: tuple, z0: float, z1: float) -> bool:
        """Claim [z0, z1] on a track unless it overlaps something already there."""
        used = self.tracks.setdefault(track, [])
        if any(z0 < b and a < z1 for a, b in used):
            return False
        used.append((z0, z1))
        return True

    def place(self, track: tuple, length: float, z_range: tuple[float, float], tries: int = 12) -> float | None:
        for _ in range(tries):
            z = float(self.rng.uniform(*z_range))
            if self.reserve(track, z - length / 2, z + length / 2):
                return z
        return None


def generate_scene(seed: int, params: SceneParams = SOURCE) -> Scene:
    rng = np.random.default_rng(seed)
    b = _Builder(rng)
    road_half, sidewalk = uniform(rng, params.road_half), uniform(rng, params.sidewalk)
    L = params.half_length
    b.add(GROUND, (0, 0, 0), (1, 1, 1), "road", ROAD_OBJ, M.GROUND, jitter(rng, (0.16, 0.16, 0.17), 0.04))
    ego = (lane_x(road_half, 1) + float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-L / 3, L / 3)))
    b.reserve(("lane", 1), ego[1] - 9, ego[1] + 9)  # keep the camera's car free of other vehicles
    for side in (-1, 1):
        _sidewalk(b, side, road_half, sidewalk, L)
        _buildings(b, params, side, road_half + sidewalk, L)
        _street_furniture(b, params, side, road_half, sidewalk, L)
        _parked_cars(b, params, side, road_half, L)
    if rng.random() < params.closed_ends:
        for z0 in (L + 2, -L - 17):  # a building across each far end of the street
            _building(b, params, -road_half - sidewalk - 30, road_half + sidewalk + 30, z0, z0 + 15)
    _traffic(b, params, road_half, L, ego)
    _pedestrians(b, params, road_half, sidewalk, L)
    return Scene(b.prims, road_half, sidewalk, ego, b.stuff, seed)


# --- the street -----------------------------------------------------------------------------


def _sidewalk(b: _Builder, side: int, road_half: float, width: float, L: float) -> None:
    obj = b.new_object(stuff=True)
    color = jitter(b.rng, (0.45, 0.44, 0.42), 0.08)
    x = side * (road_half + width / 2)
    seg = 20.0
    for z0 in np.arange(-L - 20, L + 20, seg):  # 20 m pieces keep the renderer's bounds tight
        b.add(BOX, (x, SIDEWALK_HEIGHT / 2, z0 + seg / 2), (width / 2, SIDEWALK_HEIGHT / 2, seg / 2),
              "sidewalk", obj, M.PAVING, color)


def _buildings(b: _Builder, p: SceneParams, side: int, line: float, L: float) -> None:
    z = -L - 10.0
    while z < L + 10.0:
        if b.rng.random() < p.gap_prob:
            gap = float(b.rng.uniform(4.0, 12.0))
            _gap(b, side, line, z, z + gap)
            z += gap
            continue
        width = uniform(b.rng, p.building_width)
        setback = uniform(b.rng, p.setback)
        x0 = line + setback
        depth = uniform(b.rng, p.building_depth)
        if side > 0:
            _building(b, p, x0, x0 + depth, z, z + width)
        else:
            _building(b, p, -x0 - depth, -x0, z, z + width)
        if setback > 1.5 and b.rng.random() < 0.5:
            _hedge(b, side * (line + setback / 2), z + 1, z + width - 1)
        z += width + float(b.rng.uniform(0.0, 0.6))


def _building(b: _Builder, p: SceneParams, x0: float, x1: float, z0: float, z1: float) -> None:
    h = uniform(b.rng, p.building_height)
    obj = b.new_object()
    palettes = ((0.55, 0.30, 0.22), (0.62, 0.58, 0.50), (0.45, 0.45, 0.47), (0.70, 0.66, 0.58), (0.35, 0.33, 0.32))
    color = jitter(b.rng, palettes[b.rng.integers(len(palettes))], 0.08)
    b.add(BOX, ((x0 + x1) / 2, h / 2, (z0 + z1) / 2), ((x1 - x0) / 2, h / 2, (z1 - z0) / 2), "building", obj,
          M.FACADE, color)


def _gap(b: _Builder, side: int, line: float, z0: float, z1: float) -> None:
    kind = b.rng.choice(["wall", "fence", "green"], p=[0.4, 0.35, 0.25])
    x = side * (line + float(b.rng.uniform(0.5, 2.0)))
    if kind == "wall":
        h = float(b.rng.uniform(1.0, 2.6))
        b.add(BOX, (x, h / 2, (z0 + z1) / 2), (0.15, h / 2, (z1 - z0) / 2), "wall", b.new_object(stuff=True),
              M.WALL, jitter(b.rng, (0.55, 0.53, 0.50), 0.12))
    elif kind == "fence":
        h = float(b.rng.uniform(1.0, 2.0))
        b.add(BOX, (x, h / 2, (z0 + z1) / 2), (0.03, h / 2, (z1 - z0) / 2), "fence", b.new_object(stuff=True),
              M.FENCE, jitter(b.rng, (0.42, 0.38, 0.33), 0.12))
    else:
        _tree(b, x + side * 2.0, (z0 + z1) / 2, big=True)
    # something behind the gap: a second row of buildings
    depth = float(b.rng.uniform(10, 18))
    far = line + 14.0
    x0, x1 = (far, far + depth) if side > 0 else (-far - depth, -far)
    h = float(b.rng.uniform(8, 30))
    b.add(BOX, ((x0 + x1) / 2, h / 2, (z0 + z1) / 2), ((x1 - x0) / 2, h / 2, (z1 - z0) / 2 + 3), "building",
          b.new_object(), M.FACADE, jitter(b.rng, (0.5, 0.48, 0.45), 0.15))


def _hedge(b: _Builder, x: float, z0: float, z1: float) -> None:
    h = float(b.rng.uniform(0.5, 1.2))
    b.add(BOX, (x, h / 2, (z0 + z1) / 2), (0.5, h / 2, (z1 - z0) / 2), "vegetation", b.new_object(),
          M.FOLIAGE, jitter(b.rng, (0.16, 0.30, 0.10), 0.06))


def _tree(b: _Builder, x: float, z: float, big: bool = False) -> None:
    obj = b.new_object()
    trunk_h = float(b.rng.uniform(2.0, 4.0) * (1.3 if big else 1.0))
    r = float(b.rng.uniform(0.12, 0.25))
    b.add(CYLINDER, (x, trunk_h / 2, z), (r, trunk_h / 2, r), "vegetation", obj, M.BARK,
          jitter(b.rng, (0.25, 0.18, 0.12), 0.05), part=b.new_part())
    rx, ry = float(b.rng.uniform(1.4, 2.8)), float(b.rng.uniform(1.5, 3.2))
    if big:
        rx, ry = rx * 1.4, ry * 1.4
    b.add(ELLIPSOID, (x, trunk_h + ry * 0.7, z), (rx, ry, rx * float(b.rng.uniform(0.8, 1.2))), "vegetation", obj,
          M.FOLIAGE, jitter(b.rng, (0.15, 0.32, 0.09), 0.07), part=b.new_part())


def _street_furniture(b: _Builder, p: SceneParams, side: int, road_half: float, sidewalk: float, L: float) -> None:
    curb = side * (road_half + 0.45)
    z = -L + float(b.rng.uniform(0, 10))
    while z < L:  # street lamps
        if b.reserve(("curb", side), z - 0.5, z + 0.5):
            _lamp(b, curb, z, side)
        z += uniform(b.rng, p.lamp_spacing)
    if b.rng.random() < p.tree_prob:
        z = -L + float(b.rng.uniform(0, 8))
        x = side * (road_half + sidewalk * 0.6)
        while z < L:
            if b.reserve(("curb", side), z - 1.0, z + 1.0):
                b.add(BOX, (x, SIDEWALK_HEIGHT + 0.01, z), (0.7, SIDEWALK_HEIGHT / 2 + 0.01, 0.7), "terrain",
                      b.new_object(stuff=True), M.GRASS, jitter(b.rng, (0.30, 0.27, 0.15), 0.08))
                _tree(b, x, z)
            z += uniform(b.rng, p.tree_spacing)
    for _ in range(int(b.rng.integers(*p.signs, endpoint=True)) // 2 + int(side > 0)):
        z = b.place(("curb", side), 0.8, (-L, L))
        if z is not None:
            _sign(b, curb, z, side)
    for _ in range(int(b.rng.integers(*p.traffic_lights, endpoint=True))):
        z = b.place(("curb", side), 0.8, (-L / 2, L / 2))
        if z is not None:
            _traffic_light(b, curb, z, side)
    for _ in range(int(b.rng.integers(*p.grass_patches, endpoint=True))):
        length = float(b.rng.uniform(3, 10))
        z = b.place(("curb", side), length, (-L, L))
        if z is not None:
            x = side * (road_half + sidewalk * float(b.rng.uniform(0.45, 0.7)))
            b.add(BOX, (x, SIDEWALK_HEIGHT + 0.01, z), (float(b.rng.uniform(0.5, 0.9)), SIDEWALK_HEIGHT / 2 + 0.01,
                  length / 2), "terrain", b.new_object(stuff=True), M.GRASS, jitter(b.rng, (0.25, 0.35, 0.14), 0.1))


def _pole(b: _Builder, x: float, z: float, h: float, r: float, obj: int) -> None:
    b.add(CYLINDER, (x, h / 2, z), (r, h / 2, r), "pole", obj, M.METAL, jitter(b.rng, (0.38, 0.38, 0.40), 0.1))


def _lamp(b: _Builder, x: float, z: float, side: int) -> None:
    obj = b.new_object()
    h = float(b.rng.uniform(6.0, 8.5))
    _pole(b, x, z, h, float(b.rng.uniform(0.08, 0.13)), obj)
    arm = float(b.rng.uniform(1.0, 2.2))
    b.add(BOX, (x - side * arm / 2, h - 0.1, z), (arm / 2, 0.06, 0.08), "pole", obj, M.METAL, (0.35, 0.35, 0.37))


def _sign(b: _Builder, x: float, z: float, side: int) -> None:
    h = float(b.rng.uniform(2.2, 2.9))
    _pole(b, x, z, h, 0.045, b.new_object())
    plate = b.new_object()
    colors = ((0.65, 0.08, 0.06), (0.08, 0.20, 0.60), (0.85, 0.70, 0.08), (0.85, 0.85, 0.85))
    color = jitter(b.rng, colors[b.rng.integers(len(colors))], 0.06)
    size = float(b.rng.uniform(0.28, 0.42))
    facing = 0.0 if b.rng.random() < 0.7 else math.pi / 2 * side
    if b.rng.random() < 0.5:  # round plate: a thin cylinder with its axis along the street
        b.add(CYLINDER, (x, h + size, z - 0.06), (size, 0.02, size), "traffic sign", plate, M.SIGN, color,
              rotation=axis_to_x(math.pi / 2 + facing))
    else:
        b.add(BOX, (x, h + size, z - 0.06), (size, size, 0.02), "traffic sign", plate, M.SIGN, color,
              rotation=yaw_matrix(facing))


def _traffic_light(b: _Builder, x: float, z: float, side: int) -> None:
    h = float(b.rng.uniform(2.8, 4.2))
    _pole(b, x, z, h, 0.09, b.new_object())
    obj = b.new_object()
    facing = math.pi if b.rng.random() < 0.5 else 0.0
    face = -1.0 if facing == 0.0 else 1.0  # lamps on the side facing oncoming traffic
    b.add(BOX, (x, h + 0.5, z), (0.17, 0.48, 0.14), "traffic light", obj, M.HOUSING, jitter(b.rng, (0.12, 0.12, 0.1), 0.05))
    lit = int(b.rng.integers(3))
    for k, color in enumerate(((0.9, 0.1, 0.05), (0.9, 0.6, 0.05), (0.1, 0.8, 0.3))):
        c = color if k == lit else tuple(v * 0.25 for v in color)
        b.add(ELLIPSOID, (x, h + 0.82 - 0.3 * k, z + face * 0.15), (0.1, 0.1, 0.04), "traffic light", obj,
              M.LAMP, c, part=b.new_part())


# --- vehicles and people --------------------------------------------------------------------------


def _car(b: _Builder, x: float, z: float, yaw: float) -> float:
    obj = b.new_object()
    length, width = float(b.rng.uniform(3.8, 4.8)), float(b.rng.uniform(1.65, 1.9))
    paints = ((0.8, 0.8, 0.8), (0.05, 0.05, 0.06), (0.4, 0.41, 0.43), (0.55, 0.08, 0.06), (0.08, 0.15, 0.45),
              (0.6, 0.6, 0.55), (0.2, 0.3, 0.2))
    paint = jitter(b.rng, paints[b.rng.integers(len(paints))], 0.05)
    rot = yaw_matrix(yaw)

    def at(dx, dy, dz):
        return np.array([x, 0.0, z]) + rot @ np.array([dx, dy, dz])

    b.add(BOX, at(0, 0.62, 0), (width / 2, 0.32, length / 2), "car", obj, M.PAINT, paint, rotation=rot)
    b.add(BOX, at(0, 1.2, -0.08 * length), (width / 2 - 0.08, 0.27, length * 0.27), "car", obj, M.GLASS,
          jitter(b.rng, (0.1, 0.12, 0.14), 0.03), rotation=rot, part=b.new_part())
    for wx in (-1, 1):
        for wz in (-1, 1):
            b.add(CYLINDER, at(wx * (width / 2 - 0.1), 0.32, wz * (length / 2 - 0.75)), (0.32, 0.11, 0.32), "car",
                  obj, M.RUBBER, (0.04, 0.04, 0.04), rotation=axis_to_x(yaw), part=b.new_part())
    return length


def _large_vehicle(b: _Builder, x: float, z: float, yaw: float, kind: str) -> float:
    obj = b.new_object()
    rot = yaw_matrix(yaw)
    length = float(b.rng.uniform(10.5, 12.0)) if kind == "bus" else float(b.rng.uniform(6.5, 9.0))

    def at(dx, dy, dz):
        return np.array([x, 0.0, z]) + rot @ np.array([dx, dy, dz])

    colors = ((0.75, 0.75, 0.72), (0.7, 0.55, 0.1), (0.2, 0.3, 0.55), (0.55, 0.1, 0.08))
    paint = jitter(b.rng, colors[b.rng.integers(len(colors))], 0.05)
    if kind == "bus":
        b.add(BOX, at(0, 1.0, 0), (1.25, 0.65, length / 2), "bus", obj, M.PAINT, paint, rotation=rot)
        b.add(BOX, at(0, 2.1, 0), (1.22, 0.45, length / 2 - 0.1), "bus", obj, M.GLASS, (0.1, 0.12, 0.14),
              rotation=rot, part=b.new_part())
        b.add(BOX, at(0, 2.8, 0), (1.25, 0.25, length / 2), "bus", obj, M.PAINT, paint, rotation=rot)
    else:
        b.add(BOX, at(0, 1.9, -1.2), (1.2, 1.35, length / 2 - 1.2), "truck", obj, M.PAINT, paint, rotation=rot)
        b.add(BOX, at(0, 1.3, length / 2 - 1.2), (1.15, 0.9, 1.1), "truck", obj, M.PAINT,
              jitter(b.rng, (0.5, 0.5, 0.5), 0.2), rotation=rot, part=b.new_part())
    for wz in (-1, 1):
        for wx in (-1, 1):
            b.add(CYLINDER, at(wx * 1.1, 0.5, wz * (length / 2 - 1.4)), (0.5, 0.15, 0.5), kind, obj, M.RUBBER,
                  (0.04, 0.04, 0.04), rotation=axis_to_x(yaw), part=b.new_part())
    return length


def _two_wheeler(b: _Builder, x: float, z: float, yaw: float, motor: bool) -> None:
    cls = "motorcycle" if motor else "bicycle"
    obj = b.new_object()
    rot = yaw_matrix(yaw)

    def at(dx, dy, dz):
        return np.array([x, 0.0, z]) + rot @ np.array([dx, dy, dz])

    r = 0.32 if motor else 0.34
    for wz in (-0.6, 0.6):
        b.add(CYLINDER, at(0, r, wz), (r, 0.05 if motor else 0.025, r), cls, obj, M.RUBBER, (0.05, 0.05, 0.05),
              rotation=axis_to_x(yaw), part=b.new_part())
    frame = jitter(b.rng, (0.6, 0.1, 0.1) if motor else (0.2, 0.3, 0.6), 0.15)
    b.add(BOX, at(0, 0.6, 0), (0.15 if motor else 0.03, 0.22 if motor else 0.18, 0.5), cls, obj, M.PAINT, frame,
          rotation=rot)
    _person(b, x, z, yaw, seated=True)


def _person(b: _Builder, x: float, z: float, yaw: float = 0.0, seated: bool = False, ground: float = 0.0) -> None:
    obj = b.new_object()
    cls = "rider" if seated else "person"
    s = float(b.rng.uniform(0.85, 1.1))
    base = ground + (0.55 if seated else 0.0)
    legs = jitter(b.rng, (0.12, 0.13, 0.2), 0.1)
    shirt = tuple(float(v) for v in b.rng.uniform(0.05, 0.8, 3))
    skin = jitter(b.rng, (0.62, 0.45, 0.35), 0.12)
    b.add(CYLINDER, (x, base + 0.42 * s, z), (0.14 * s, 0.42 * s, 0.11 * s), cls, obj, M.CLOTH, legs,
          rotation=yaw_matrix(yaw), part=b.new_part())
    b.add(CYLINDER, (x, base + 1.15 * s, z), (0.21 * s, 0.31 * s, 0.14 * s), cls, obj, M.CLOTH, shirt,
          rotation=yaw_matrix(yaw), part=b.new_part())
    b.add(ELLIPSOID, (x, base + 1.58 * s, z), (0.1 * s, 0.12 * s, 0.1 * s), cls, obj, M.SKIN, skin,
          part=b.new_part())


def _parked_cars(b: _Builder, p: SceneParams, side: int, road_half: float, L: float) -> None:
    x = side * (road_half - PARKED_OFFSET)
    count = int(b.rng.poisson(p.parked_per_10m * 2 * L / 10 * 0.5))
    for _ in range(count):
        z = b.place(("parking", side), 5.2, (-L, L))
        if z is not None:
            _car(b, x, z, 0.0 if b.rng.random() < 0.8 else math.pi)


def _traffic(b: _Builder, p: SceneParams, road_half: float, L: float, ego: tuple[float, float]) -> None:
    lanes = (lane_x(road_half, -1), lane_x(road_half, 1))
    for _ in range(int(b.rng.integers(*p.moving_cars, endpoint=True))):
        lane = int(b.rng.integers(2))
        z = b.place(("lane", lane), 6.0, (-L * 0.6, L * 0.6))
        if z is not None:
            _car(b, lanes[lane] + float(b.rng.uniform(-0.25, 0.25)), z, 0.0 if lane else math.pi)
    for kind in ("truck", "bus"):
        if b.rng.random() < p.large_vehicle_prob:
            lane = int(b.rng.integers(2))
            z = b.place(("lane", lane), 13.0, (-L * 0.5, L * 0.5))
            if z is not None:
                _large_vehicle(b, lanes[lane], z, 0.0 if lane else math.pi, kind)
    for _ in range(int(b.rng.integers(*p.cyclists, endpoint=True))):
        lane = int(b.rng.integers(2))
        z = b.place(("lane", lane), 2.5, (ego[1] - 40, ego[1] + 40))
        if z is not None:
            _two_wheeler(b, lanes[lane], z, 0.0 if lane else math.pi, motor=b.rng.random() < 0.4)


def _pedestrians(b: _Builder, p: SceneParams, road_half: float, sidewalk: float, L: float) -> None:
    for _ in range(int(b.rng.integers(*p.pedestrians, endpoint=True))):
        side = 1 if b.rng.random() < 0.5 else -1
        lateral = float(b.rng.uniform(0.3, 0.85))
        z = b.place(("walk", side, round(lateral, 1)), 0.8, (-L / 2, L / 2))
        if z is not None:
            _person(b, side * (road_half + sidewalk * lateral), z, float(b.rng.uniform(-math.pi, math.pi)),
                    ground=SIDEWALK_HEIGHT)
