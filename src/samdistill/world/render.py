"""Render a scene through a camera by vectorized ray casting: exact per-pixel ground truth.

One primary ray per pixel (nearest hit over all primitives), then one shadow ray per lit hit
towards the sun (any hit). Both passes test a primitive only against the rays that can reach
it: primary rays inside the camera's pixel bound of the primitive's box, shadow rays whose
origins project (along the sun direction) into the primitive's shadow footprint, found with a
uniform grid. Shading is Lambertian (sun + ambient), distance haze, then the camera (`develop`).

`RenderOutput.segments` gives every object, and every connected region of stuff (road,
terrain, sidewalk, sky, walls, fences), its own id; on a panorama regions connect across the
360-degree seam. `parts` are nested sub-objects (windows, doors, wheels, car glass, heads,
trunk vs crown, traffic-light lamps), 0 elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samdistill.core.labels import TRAIN_ID
from samdistill.world import materials as M
from samdistill.world.cameras import EquirectCamera, PinholeCamera, rect_indices
from samdistill.world.geometry import GROUND, MISS, PrimitiveTable, intersect, local_hit
from samdistill.world.scene import SKY_OBJ, Scene
from samdistill.world.style import Style, develop, sky_radiance

SHADOW_CELL = 0.5  # metres: grid cell of shadow-ray binning
SKY = TRAIN_ID["sky"]


@dataclass
class RenderOutput:
    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1]
    label: np.ndarray  # (H, W) uint8 Cityscapes train ids
    objects: np.ndarray  # (H, W) int64 object ids (SKY_OBJ for sky)
    segments: np.ndarray  # (H, W) int64: objects, with stuff split into connected regions
    parts: np.ndarray  # (H, W) int64, 0 = no part
    depth: np.ndarray  # (H, W) float32 metres (pinhole: z-depth, panorama: range); 0 = sky
    things: np.ndarray  # (H, W) bool: pixel belongs to a countable object (not stuff)


def cast_primary(table: PrimitiveTable, camera, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, primitive index) of the nearest hit per pixel; index -1 where the ray escapes."""
    origin = np.asarray(camera.origin, np.float32)
    t_best = np.full(len(dirs), MISS, np.float32)
    p_best = np.full(len(dirs), -1, np.int64)
    for i in range(table.n):
        if table.kind[i] == GROUND:
            idx = np.arange(len(dirs))
        else:
            rects = camera.pixel_rect(table.corners(i))
            if not rects:
                continue
            idx = np.concatenate([rect_indices(r, camera.width) for r in rects])
        t = intersect(table, i, origin, dirs[idx])
        better = t < t_best[idx]
        sel = idx[better]
        t_best[sel], p_best[sel] = t[better], i
    return t_best, p_best


def shadowed(table: PrimitiveTable, points: np.ndarray, sun: np.ndarray) -> np.ndarray:
    """Whether a ray from each point towards the sun hits any primitive (the ground excluded)."""
    out = np.zeros(len(points), bool)
    if len(points) == 0:
        return out
    a = np.cross(sun, [0.0, 0.0, 1.0] if abs(sun[2]) < 0.9 else [1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    basis = np.stack([a, np.cross(sun, a)], 1)  # (3, 2): the plane across the sun's rays
    q = points.astype(np.float64) @ basis
    lo = q.min(0)
    cells = np.floor((q - lo) / SHADOW_CELL).astype(np.int64)
    nrows, ncols = int(cells[:, 0].max()) + 1, int(cells[:, 1].max()) + 1
    key = cells[:, 0] * ncols + cells[:, 1]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    height = points.astype(np.float64) @ sun
    dirs = np.broadcast_to(sun.astype(np.float32), points.shape)
    for i in range(table.n):
        if table.kind[i] == GROUND:
            continue
        corners = table.corners(i)
        cq = (corners @ basis - lo) / SHADOW_CELL
        c0, c1 = np.floor(cq.min(0)).astype(np.int64), np.floor(cq.max(0)).astype(np.int64)
        if c1[0] < 0 or c1[1] < 0 or c0[0] >= nrows or c0[1] >= ncols:
            continue
        c0, c1 = np.maximum(c0, 0), np.minimum(c1, (nrows - 1, ncols - 1))
        starts = np.searchsorted(sorted_key, np.arange(c0[0], c1[0] + 1) * ncols + c0[1], "left")
        ends = np.searchsorted(sorted_key, np.arange(c0[0], c1[0] + 1) * ncols + c1[1], "right")
        if not np.any(ends > starts):
            continue
        idx = order[np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])]
        idx = idx[~out[idx] & (height[idx] < (corners @ sun).max())]  # only points below the caster
        if len(idx):
            t = intersect(table, i, points[idx], dirs[idx])
            out[idx[t < MISS]] = True
    return out


def render(scene: Scene, camera: PinholeCamera | EquirectCamera, style: Style, noise_seed: int = 0) -> RenderOutput:
    table = PrimitiveTable(scene.prims)
    h, w = camera.height, camera.width
    dirs = camera.directions()
    t, prim = cast_primary(table, camera, dirs)
    hit = prim >= 0
    label = np.full(h * w, SKY, np.uint8)
    objects = np.full(h * w, SKY_OBJ, np.int64)
    parts = np.zeros(h * w, np.int64)
    albedo = np.zeros((h * w, 3), np.float32)
    emission = np.zeros((h * w, 3), np.float32)
    normal = np.zeros((h * w, 3), np.float32)
    origin = np.asarray(camera.origin, np.float32)
    order = np.argsort(prim, kind="stable")  # pixels grouped by the primitive they see
    bounds = np.searchsorted(prim[order], np.arange(table.n + 1))
    for i in np.unique(prim[hit]):
        idx = order[bounds[i]:bounds[i + 1]]
        local, n = local_hit(table, i, origin, dirs[idx], t[idx])
        world = origin + dirs[idx] * t[idx, None]
        surf = M.shade(int(table.material[i]), M.Hits(world, local, n, table.half[i], table.color[i].astype(np.float32),
                                                       int(table.obj[i]), scene.seed), scene.road_half)
        albedo[idx], normal[idx] = surf.albedo, n
        label[idx] = table.cls[i] if surf.cls is None else surf.cls
        objects[idx] = table.obj[i]
        parts[idx] = table.part[i] if surf.part is None else np.where(surf.part > 0, surf.part, table.part[i])
        if surf.emission is not None:
            emission[idx] = surf.emission
    if np.any(table.kind == GROUND):  # the ground is two stuff objects, road and terrain, by side
        from samdistill.world.scene import ROAD_OBJ, TERRAIN_LEFT_OBJ, TERRAIN_RIGHT_OBJ

        ground = hit & (table.kind[np.maximum(prim, 0)] == GROUND)
        x = origin[0] + dirs[ground, 0] * t[ground]
        objects[ground] = np.where(label[ground] == TRAIN_ID["road"], ROAD_OBJ,
                                   np.where(x < 0, TERRAIN_LEFT_OBJ, TERRAIN_RIGHT_OBJ))
    radiance = _shade(table, scene, style, dirs, t, hit, albedo, normal, emission, origin)
    rgb = develop(radiance.reshape(h, w, 3), style, np.random.default_rng([scene.seed, noise_seed, 7]))
    depth = np.where(hit, camera.depth(np.where(hit, t, 0), dirs), 0).astype(np.float32)
    objects = objects.reshape(h, w)
    wrap = isinstance(camera, EquirectCamera)
    things = ~np.isin(objects, list(scene.stuff_objects))
    return RenderOutput(rgb, label.reshape(h, w), objects, split_stuff(objects, things, wrap),
                        parts.reshape(h, w), depth.reshape(h, w), things)


def _shade(table, scene, style, dirs, t, hit, albedo, normal, emission, origin) -> np.ndarray:
    sun = np.asarray(style.sun_direction, np.float64)
    sun_color = np.float32(style.sun_color)
    lambert = np.clip(normal @ sun.astype(np.float32), 0.0, None)
    lit = hit & (lambert > 0)
    points = origin + dirs[lit] * t[lit, None] + normal[lit] * 2e-3
    visible = np.zeros(len(dirs), np.float32)
    visible[lit] = ~shadowed(table, points, sun)
    sky_light = style.ambient * (0.75 + 0.25 * normal[:, 1:2])  # more from above than from the sides
    radiance = albedo * (sky_light * np.float32([0.85, 0.92, 1.05]) + (lambert * visible)[:, None] * sun_color)
    radiance += emission
    haze = 1.0 - np.exp(-np.where(hit, t, 0.0) / style.haze_distance)[:, None]
    radiance = radiance * (1 - haze) + style.sky_horizon * haze
    radiance[~hit] = sky_radiance(dirs[~hit], style, scene.seed)
    return radiance.astype(np.float32)


def split_stuff(objects: np.ndarray, things: np.ndarray, wrap: bool) -> np.ndarray:
    """Object ids with every stuff object split into its connected regions (4-connectivity;
    with `wrap`, the first and last columns touch). Things keep one id however occluded."""
    from skimage.measure import label as connected

    # one pass: connected regions of equal object id (things are merged back below)
    regions, count = connected(objects, background=-1, connectivity=1, return_num=True)
    if wrap and count > 1:
        regions, count = _merge_across_seam(regions, count, objects)
    # the first region of each stuff object keeps the object id, later ones get new ids
    flat_regions, flat_objects = regions.ravel(), objects.ravel()
    _, first_pixel = np.unique(flat_regions, return_index=True)
    region_object = flat_objects[first_pixel]  # object of region k+1 at index k
    order = np.argsort(first_pixel, kind="stable")  # regions in reading order
    new_id = np.empty(count + 1, np.int64)
    seen: set[int] = set()
    next_id = int(objects.max()) + 1
    stuff = ~things.ravel()[first_pixel]
    for k in order:
        obj = int(region_object[k])
        if not stuff[k] or obj not in seen:
            new_id[k + 1] = obj
            seen.add(obj)
        else:
            new_id[k + 1] = next_id
            next_id += 1
    return new_id[regions]


def _merge_across_seam(regions: np.ndarray, count: int, objects: np.ndarray) -> tuple[np.ndarray, int]:
    """Join regions that touch across the 360-degree seam (same object on both edge columns)."""
    parent = np.arange(count + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    same = objects[:, 0] == objects[:, -1]
    for a, b in zip(regions[same, 0], regions[same, -1]):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(k) for k in range(count + 1)])
    _, relabel = np.unique(roots, return_inverse=True)  # 0 stays 0 (unused), regions become 1..k
    return relabel[regions], int(relabel.max())
