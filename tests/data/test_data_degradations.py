import numpy as np
import pytest

from samdistill.data import degradations as deg
from samdistill.data.errors import DataError


def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.fixture
def photo():
    """Smooth synthetic image (gradients), mid-range so rain and noise are visible."""
    y, x = np.mgrid[0:96, 0:96] / 95.0
    return np.stack([0.2 + 0.4 * x, 0.3 + 0.3 * y, 0.4 * np.ones_like(x)], axis=2).astype(np.float32)


@pytest.mark.parametrize("level", ["light", "heavy"])
def test_rain_is_deterministic_and_brightens(photo, level):
    a = deg.add_rain(photo, np.random.default_rng(3), level)
    b = deg.add_rain(photo, np.random.default_rng(3), level)
    c = deg.add_rain(photo, np.random.default_rng(4), level)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == photo.shape and 0 <= a.min() and a.max() <= 1
    assert np.all(a >= photo - 1e-6)  # screen blend never darkens
    assert 8 < psnr(a, photo) < 40


def test_heavy_rain_is_worse_than_light(photo):
    light = psnr(deg.add_rain(photo, np.random.default_rng(0), "light"), photo)
    heavy = psnr(deg.add_rain(photo, np.random.default_rng(0), "heavy"), photo)
    assert heavy < light - 5


def test_streak_kernel_follows_angle():
    vertical = deg.streak_kernel(9, 0.0, 0.0)
    assert vertical.sum() == pytest.approx(1.0)
    assert vertical[:, 4].sum() == pytest.approx(1.0)  # all mass in the centre column
    horizontal = deg.streak_kernel(9, 90.0, 0.0)
    assert horizontal[4, :].sum() == pytest.approx(1.0, abs=1e-6)


def test_gaussian_noise_statistics_and_determinism():
    img = np.full((64, 64, 3), 0.5, np.float32)
    a = deg.add_gaussian_noise(img, 25, np.random.default_rng(1))
    np.testing.assert_array_equal(a, deg.add_gaussian_noise(img, 25, np.random.default_rng(1)))
    assert np.std(a - img) == pytest.approx(25 / 255, rel=0.05)
    clipped = deg.add_gaussian_noise(np.ones((8, 8, 3), np.float32), 50, np.random.default_rng(0))
    assert clipped.max() <= 1.0
    with pytest.raises(DataError, match="sigma"):
        deg.add_gaussian_noise(img, -1, np.random.default_rng(0))


def test_trajectory_kernel_normalized_and_seeded():
    k = deg.trajectory_kernel(np.random.default_rng(7), 15)
    assert k.shape == (15, 15) and k.sum() == pytest.approx(1.0) and k.min() >= 0
    assert (k > 0).sum() > 10  # a path, not a point
    np.testing.assert_array_equal(k, deg.trajectory_kernel(np.random.default_rng(7), 15))


def test_motion_blur_preserves_constant_and_smooths_edges():
    flat = np.full((20, 20, 3), 0.3, np.float32)
    np.testing.assert_allclose(deg.motion_blur(flat, np.random.default_rng(0), 7), flat, atol=1e-5)
    edge = np.zeros((32, 32, 3), np.float32)
    edge[:, 16:] = 1.0
    blurred = deg.motion_blur(edge, np.random.default_rng(0), 9)
    assert blurred.shape == edge.shape
    assert np.abs(np.diff(blurred, axis=1)).max() < 1.0  # the hard step is spread out
    np.testing.assert_array_equal(blurred, deg.motion_blur(edge, np.random.default_rng(0), 9))


def test_bad_inputs_named():
    with pytest.raises(DataError, match="level"):
        deg.add_rain(np.zeros((4, 4, 3)), np.random.default_rng(0), "drizzle")
    with pytest.raises(DataError, match=r"\(H, W, 3\)"):
        deg.add_gaussian_noise(np.zeros((4, 4)), 5, np.random.default_rng(0))
