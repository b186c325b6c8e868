"""Camera geometry: equirectangular round trip and seam, pinhole projection, conservative pixel bounds."""
import math

import numpy as np

from samdistill.world.cameras import EquirectCamera, PinholeCamera, rect_indices
from samdistill.world.geometry import BOX, Primitive, PrimitiveTable, intersect, yaw_matrix


def test_equirect_pixel_direction_round_trip():
    cam = EquirectCamera(40, 200, (0, 1.5, 0), vfov_deg=70, yaw=0.7, center_elevation=-0.05)
    rows, cols = np.mgrid[0:40, 0:200]
    row, col = cam.direction_to_pixel(cam.directions().reshape(40, 200, 3))
    np.testing.assert_allclose(row, rows, atol=1e-3)
    np.testing.assert_allclose(col, cols, atol=1e-3)


def test_equirect_seam_columns_are_neighbours():
    cam = EquirectCamera(10, 64, (0, 0, 0), yaw=0.3)
    d = cam.directions().reshape(10, 64, 3)
    step = 2 * math.pi / 64
    angle = lambda a, b: np.arccos(np.clip((a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)), -1, 1))
    row = 5
    horiz = lambda v: v * np.array([1, 0, 1])  # compare azimuths only
    seam = angle(horiz(d[row, 0]), horiz(d[row, -1]))
    inner = angle(horiz(d[row, 10]), horiz(d[row, 11]))
    assert abs(seam - step) < 1e-5 and abs(inner - step) < 1e-5
    # the image centre looks along the heading, the seam straight behind it
    az = lambda v: math.atan2(v[0], v[2])
    assert abs(az(d[row, 31]) - 0.3) < step and abs(abs(az(d[row, 0]) - 0.3) - math.pi) < step


def test_pinhole_projects_its_own_rays_back_to_their_pixels():
    cam = PinholeCamera(12, 24, (1, 1.4, -3), hfov_deg=70, yaw=0.2, pitch=-0.03)
    points = np.asarray(cam.origin) + cam.directions() * 7.0
    row, col, z = cam.project(points)
    rows, cols = np.mgrid[0:12, 0:24]
    np.testing.assert_allclose(row, rows.ravel(), atol=1e-6)
    np.testing.assert_allclose(col, cols.ravel(), atol=1e-6)
    assert np.all(z > 0)


def _covered(cam, t):
    hits = intersect(t, 0, np.asarray(cam.origin, np.float32), cam.directions()) < np.inf
    return set(np.nonzero(hits)[0])


def test_pixel_bounds_contain_every_pixel_a_box_covers():
    rng = np.random.default_rng(0)
    for cam in (PinholeCamera(30, 60, (0, 1.5, 0)), EquirectCamera(30, 120, (0, 1.5, 0))):
        for _ in range(20):
            center = (rng.uniform(-15, 15), rng.uniform(0, 6), rng.uniform(2, 25))
            t = PrimitiveTable([Primitive(BOX, center, tuple(rng.uniform(0.2, 4, 3)), rotation=yaw_matrix(rng.uniform(0, 3)))])
            covered = _covered(cam, t)
            bound = set()
            for rect in cam.pixel_rect(t.corners(0)):
                bound |= set(rect_indices(rect, cam.width).tolist())
            assert covered <= bound, (type(cam).__name__, center)


def test_equirect_bound_wraps_behind_the_camera():
    cam = EquirectCamera(20, 80, (0, 1.5, 0))
    t = PrimitiveTable([Primitive(BOX, (0, 1.5, -8), (1.0, 1.0, 1.0))])  # straight behind: on the seam
    covered = _covered(cam, t)
    cols = {i % 80 for i in covered}
    assert 0 in cols and 79 in cols  # the box straddles the seam
    (r0, r1, c0, c1), = cam.pixel_rect(t.corners(0))
    assert c0 < 0 or c1 > 80  # one rectangle crossing the seam
    assert covered <= set(rect_indices((r0, r1, c0, c1), 80).tolist())
