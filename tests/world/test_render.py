"""Rendering a hand-built scene: labels, objects, depth and shadows agree with the geometry."""
import math

import numpy as np

from samdistill.data.segmentation.labels import TRAIN_ID
from samdistill.world import materials as M
from samdistill.world.cameras import EquirectCamera, PinholeCamera
from samdistill.world.geometry import BOX, GROUND, Primitive
from samdistill.world.render import render, split_stuff
from samdistill.world.scene import ROAD_OBJ, SKY_OBJ, Scene
from samdistill.world.style import SOURCE_STYLE, Style


def _style(sun=(0.0, 1.0, 0.0)) -> Style:
    return Style(sun_direction=sun, sun_color=(3.0, 3.0, 3.0), ambient=0.3, haze_distance=1e6, cloud_cover=0.0,
                 exposure=1.0, tone="srgb", white_balance=(1.0, 1.0, 1.0), saturation=1.0, noise_sigma=0.0,
                 vignette=0.0)


def one_box_scene(center=(0.0, 1.0, 10.0), half=(1.0, 1.0, 1.0)) -> Scene:
    prims = [Primitive(GROUND, (0, 0, 0), (1, 1, 1), cls=TRAIN_ID["road"], obj=ROAD_OBJ, material=M.GROUND,
                       color=(0.3, 0.3, 0.3)),
             Primitive(BOX, center, half, cls=TRAIN_ID["car"], obj=42, material=M.PAINT, color=(0.6, 0.1, 0.1))]
    return Scene(prims, road_half=1e5, sidewalk=2.0, ego=(0.0, 0.0), stuff_objects={SKY_OBJ, ROAD_OBJ})


def test_one_box_label_object_and_depth_agree():
    cam = PinholeCamera(40, 80, (0.0, 1.0, 0.0), hfov_deg=60)
    out = render(one_box_scene(), cam, _style())
    box = out.objects == 42
    assert box.any()
    assert np.all(out.label[box] == TRAIN_ID["car"]) and np.all(out.label[~box & (out.depth > 0)] == TRAIN_ID["road"])
    assert np.all(out.label[out.depth == 0] == TRAIN_ID["sky"])
    # the box's front face is at z = 9: its z-depth is exactly 9 wherever the face is seen
    np.testing.assert_allclose(out.depth[box], 9.0, atol=1e-3)
    # ground pixel depth: the ray through a lower pixel meets y = 0 at z = camera height / tan(angle below)
    row, col = 35, 5
    d = cam.directions().reshape(40, 80, 3)[row, col]
    expected_t = 1.0 / -d[1]
    assert abs(out.depth[row, col] - expected_t * d[2]) < 1e-3
    # things keep one id, the road is stuff: segments = objects here (nothing is split)
    assert set(np.unique(out.segments[box])) == {42}


def test_cast_shadow_under_a_floating_box():
    # a box floating 1.5 m up; noon sun straight overhead: the ground right below it is in shadow
    scene = one_box_scene(center=(0.0, 1.75, 5.0), half=(1.0, 0.25, 1.0))
    cam = PinholeCamera(120, 120, (0.0, 1.0, 0.0), hfov_deg=60)
    out = render(scene, cam, _style(sun=(0.0, 1.0, 0.0)))
    d = cam.directions().reshape(120, 120, 3)
    t = 1.0 / np.maximum(-d[..., 1], 1e-6)
    x, z = d[..., 0] * t, d[..., 2] * t
    ground = (out.label == TRAIN_ID["road"]) & (d[..., 1] < 0)
    under = ground & (np.abs(x) < 0.8) & (np.abs(z - 5) < 0.8)
    open_ground = ground & (np.abs(x) > 1.5) & (np.abs(z - 5) < 0.8)
    assert under.sum() > 5 and open_ground.sum() > 5
    assert out.rgb[under].mean() < 0.6 * out.rgb[open_ground].mean()
    # with the sun low in the east the same ground is lit
    lit = render(scene, cam, _style(sun=(math.cos(0.3), math.sin(0.3), 0.0)))
    assert lit.rgb[under].mean() > out.rgb[under].mean() * 1.3


def test_stuff_regions_split_and_rejoin_across_the_seam():
    objects = np.array([[5, 7, 7, 5],
                        [5, 7, 7, 5],
                        [9, 9, 9, 9]])
    things = np.zeros_like(objects, bool)
    flat = split_stuff(objects, things, wrap=False)
    assert len(np.unique(flat[objects == 5])) == 2  # left and right columns are two regions
    wrapped = split_stuff(objects, things, wrap=True)
    assert len(np.unique(wrapped[objects == 5])) == 1  # ...one region on a panorama
    things[objects == 5] = True
    assert len(np.unique(split_stuff(objects, things, wrap=False)[objects == 5])) == 1  # things never split


def test_panorama_is_continuous_across_the_seam():
    scene = one_box_scene(center=(0.0, 1.0, -6.0))  # right behind the camera: on the seam
    cam = EquirectCamera(32, 128, (0.0, 1.0, 0.0))
    out = render(scene, cam, _style())
    box = out.objects == 42
    assert box[:, 0].any() and box[:, -1].any()
    assert len(np.unique(out.segments[box])) == 1
    # the box's pixels left and right of the seam mirror each other (the scene is symmetric in x)
    np.testing.assert_array_equal(box[:, :8], box[:, -8:][:, ::-1])


def test_source_style_renders_in_range_and_deterministic():
    from samdistill.world.scene import generate_scene
    from samdistill.world.style import draw_style
    from samdistill.world.views import pinhole_view

    def once():
        scene = generate_scene(3)
        rng = np.random.default_rng(3)
        return render(scene, pinhole_view(scene, rng, 24, 48), draw_style(rng, SOURCE_STYLE))

    a, b = once(), once()
    assert a.rgb.min() >= 0 and a.rgb.max() <= 1
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.segments, b.segments)


def _reference_region_count(objects, obj, wrap):
    from scipy import ndimage

    regions, count = ndimage.label(objects == obj)
    if not wrap:
        return count
    pairs = {(a, b) for a, b in zip(regions[:, 0], regions[:, -1]) if a and b and a != b}
    parent = list(range(count + 1))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for a, b in pairs:
        parent[find(a)] = find(b)
    return len({find(k) for k in range(1, count + 1)})


def test_split_stuff_matches_a_per_object_reference_on_random_maps():
    rng = np.random.default_rng(0)
    for wrap in (False, True):
        for _ in range(10):
            objects = rng.integers(1, 5, (9, 13))
            things = objects == 4
            out = split_stuff(objects, things, wrap)
            for obj in (1, 2, 3):
                assert len(np.unique(out[objects == obj])) == _reference_region_count(objects, obj, wrap)
            assert set(np.unique(out[things])) <= {4}
            # a segment never spans two objects
            for seg in np.unique(out):
                assert len(np.unique(objects[out == seg])) == 1
