"""Ray-primitive intersections on hand-made rays, against distances worked out by hand."""
import math

import numpy as np
import pytest

from samdistill.world.geometry import (BOX, CYLINDER, ELLIPSOID, GROUND, MISS, Primitive, PrimitiveTable, axis_to_x,
                                       intersect, local_hit, yaw_matrix)


def table(*prims):
    return PrimitiveTable(list(prims))


def rays(*dirs):
    d = np.asarray(dirs, np.float32)
    return d / np.linalg.norm(d, axis=1, keepdims=True)


ORIGIN = np.zeros(3, np.float32)


def test_box_hit_distance_and_miss():
    # unit half-size box centred 10 m ahead: the near face is at z = 9
    t = table(Primitive(BOX, (0, 0, 10), (1, 1, 1)))
    d = rays([0, 0, 1], [0.05, 0, 1], [0, 0, -1], [1, 0, 1])
    got = intersect(t, 0, ORIGIN, d)
    assert got[0] == pytest.approx(9.0, abs=1e-5)
    assert got[1] == pytest.approx(9.0 / (1 / math.sqrt(1 + 0.05 ** 2)), abs=1e-4)  # slanted ray, same face
    assert got[2] == MISS  # looking away
    assert got[3] == MISS  # passes beside


def test_rotated_box_uses_its_own_frame():
    # a thin slab (half depth 0.1, half width 2) turned 90 degrees: now 0.2 m wide across x
    t = table(Primitive(BOX, (0, 0, 10), (2.0, 1.0, 0.1), rotation=yaw_matrix(math.pi / 2)))
    got = intersect(t, 0, ORIGIN, rays([0, 0, 1], [0.15 / 10, 0, 1]))
    assert got[0] == pytest.approx(8.0, abs=1e-4)  # the long side now faces the camera: z = 10 - 2
    assert got[1] == MISS  # x = 0.015 z > 0.1 all along z = 8..12: beside the 0.2 m wide slab


def test_nearest_of_two_wins():
    from samdistill.world.cameras import PinholeCamera
    from samdistill.world.render import cast_primary

    t = table(Primitive(BOX, (0, 0, 20), (1, 1, 1)), Primitive(ELLIPSOID, (0, 0, 6), (0.5, 0.5, 0.5)))
    cam = PinholeCamera(5, 5, (0, 0, 0), hfov_deg=10)
    dist, prim = cast_primary(t, cam, cam.directions())
    centre = 2 * 5 + 2
    assert prim[centre] == 1 and dist[centre] == pytest.approx(5.5, abs=1e-4)


def test_cylinder_side_and_cap():
    # vertical cylinder radius 0.5, from y=-1 to y=1, 5 m ahead
    t = table(Primitive(CYLINDER, (0, 0, 5), (0.5, 1.0, 0.5)))
    side = intersect(t, 0, ORIGIN, rays([0, 0, 1]))
    assert side[0] == pytest.approx(4.5, abs=1e-5)
    # from above, straight down onto the top cap at y = 1
    cap = intersect(t, 0, np.float32([0, 3, 5]), rays([0, -1, 0]))
    assert cap[0] == pytest.approx(2.0, abs=1e-5)
    # above the top, horizontally: miss
    assert intersect(t, 0, np.float32([0, 1.5, 0]), rays([0, 0, 1]))[0] == MISS


def test_lying_cylinder_is_a_wheel_across_x():
    t = table(Primitive(CYLINDER, (0, 0, 5), (0.3, 0.1, 0.3), rotation=axis_to_x()))
    # its axis runs along x: looking along +z we see the round tread (radius 0.3): hit at z = 4.7
    assert intersect(t, 0, ORIGIN, rays([0, 0, 1]))[0] == pytest.approx(4.7, abs=1e-5)
    # looking along -x from x=3 we see the flat side at x = 0.1
    assert intersect(t, 0, np.float32([3, 0, 5]), rays([-1, 0, 0]))[0] == pytest.approx(2.9, abs=1e-5)


def test_ellipsoid_distance_and_normal():
    t = table(Primitive(ELLIPSOID, (0, 0, 10), (1.0, 2.0, 3.0)))
    d = rays([0, 0, 1])
    hit = intersect(t, 0, ORIGIN, d)
    assert hit[0] == pytest.approx(7.0, abs=1e-5)  # semi-axis 3 along z
    _, normal = local_hit(t, 0, ORIGIN, d, hit)
    np.testing.assert_allclose(normal[0], [0, 0, -1], atol=1e-5)


def test_ground_plane_from_above_only():
    t = table(Primitive(GROUND, (0, 0, 0), (1, 1, 1)))
    d = rays([0, -1, 1], [0, 1, 1])
    got = intersect(t, 0, np.float32([0, 2, 0]), d)
    assert got[0] == pytest.approx(2 * math.sqrt(2), abs=1e-5)
    assert got[1] == MISS


def test_aabb_bounds_a_rotated_box():
    prim = Primitive(BOX, (1, 2, 3), (2.0, 0.5, 1.0), rotation=yaw_matrix(0.3))
    t = table(prim)
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * prim.half
    world = corners @ prim.rotation.T + prim.center
    assert np.all(world >= t.aabb_min[0] - 1e-9) and np.all(world <= t.aabb_max[0] + 1e-9)
    np.testing.assert_allclose(world.min(0), t.aabb_min[0], atol=1e-9)  # tight for a box
