"""The Fréchet distance against closed forms, its eps retry, the imaginary-part check, the statistics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from samdistill.metrics import fid as fidmod
from samdistill.metrics.fid import (FIDError, FIDResult, FIDWarning, feature_statistics, fid_from_features,
                                    frechet_distance)


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def _spd(d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(d, d))
    return x @ x.T + 0.5 * np.eye(d)


def test_diagonal_gaussians_match_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_commuting_non_diagonal_covariances_match_the_closed_form() -> None:
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T: sqrt(S1 S2) = Q diag(sqrt(ab)) Q^T
    q = _rotation(5, 1)
    a, b = np.array([0.5, 1, 2, 3, 4.0]), np.array([2, 0.25, 1, 5, 0.1])
    mu1, mu2 = np.arange(5.0), np.arange(5.0)[::-1]
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
    got = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-9)


def test_non_commuting_2x2_matches_the_trace_of_a_2x2_square_root() -> None:
    # M = S1 S2 has non-negative eigenvalues l1, l2: Tr sqrt(M) = sqrt(l1) + sqrt(l2) = sqrt(Tr M + 2 sqrt(det M))
    s1, s2 = np.array([[2.0, 0.7], [0.7, 1.0]]), np.array([[1.0, -0.4], [-0.4, 3.0]])
    m = s1 @ s2
    tr_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    expected = 1.0 ** 2 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_distance([0, 0], s1, [1, 0], s2) == pytest.approx(expected, rel=1e-10)


def test_symmetric_and_zero_for_identical_statistics() -> None:
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = _spd(8, 4), _spd(8, 5)
    d12, d21 = frechet_distance(mu1, s1, mu2, s2), frechet_distance(mu2, s2, mu1, s1)
    assert d12 > 1 and d12 == pytest.approx(d21, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_singular_product_retries_with_eps_on_both_covariances() -> None:
    # sqrtm of the nilpotent [[0, 1], [0, 0]] is not finite. With eps added to both:
    # M = (1 + eps) [[eps, 1], [0, eps]], a Jordan block of (1 + eps) eps: Tr sqrt(M) = 2 sqrt((1 + eps) eps).
    # The traces of the covariances themselves stay un-offset (as pytorch-fid).
    eps = 0.01
    s1, s2 = np.array([[0.0, 1.0], [0.0, 0.0]]), np.eye(2)
    with pytest.warns(FIDWarning, match="not finite"):
        got = frechet_distance([0, 0], s1, [0, 0], s2, eps=eps)
    expected = 0 + 2 - 2 * 2 * np.sqrt((1 + eps) * eps)  # 1.598...; eps on s1 only would give 1.6
    assert got == pytest.approx(expected, abs=1e-9)


def test_large_imaginary_component_is_a_clear_error_and_small_one_is_dropped(monkeypatch) -> None:
    # sqrtm(diag(-1, 1)) = diag(i, 1): not covariances, an imaginary diagonal of 1
    with pytest.raises(FIDError, match="imaginary component of 1"):
        frechet_distance([0, 0], np.diag([-1.0, 1.0]), [0, 0], np.eye(2))
    real = fidmod._sqrtm
    monkeypatch.setattr(fidmod, "_sqrtm", lambda m: real(m) + 1e-5j)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    assert frechet_distance([0, 0], s1, [0, 0], s2) == pytest.approx(10 - 2 * 4, abs=1e-9)


def test_mismatched_shapes_are_clear_errors() -> None:
    with pytest.raises(FIDError, match="mean vectors"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(FIDError, match="3x3"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))


def test_statistics_use_the_sample_covariance_like_pytorch_fid() -> None:
    # square corners: mean (1, 1), covariance (ddof 1) diag(4/3, 4/3); twice as large: mean (2, 2), diag(16/3, 16/3)
    f1 = np.array([[0, 0], [2, 0], [0, 2], [2, 2]], float)
    mu, sigma = feature_statistics(f1)
    np.testing.assert_allclose(mu, [1, 1])
    np.testing.assert_allclose(sigma, np.diag([4 / 3, 4 / 3]))
    result = fid_from_features(f1, 2 * f1)
    # |dmu|^2 = 2; per dimension 4/3 + 16/3 - 2 * 8/3 = 4/3 (ddof 0 would give 4 in total)
    assert result.value == pytest.approx(2 + 8 / 3, rel=1e-9)
    assert fid_from_features(f1, 2 * f1, method="svd").value == pytest.approx(2 + 8 / 3, rel=1e-9)


@pytest.mark.parametrize("n1, n2, d", [(5, 7, 8), (30, 25, 6)])
def test_svd_method_equals_the_square_root(n1: int, n2: int, d: int) -> None:
    rng = np.random.default_rng(n1)
    a, b = rng.normal(size=(n1, d)), rng.normal(size=(n2, d)) * 1.5 + 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIDWarning)
        slow, fast = fid_from_features(a, b), fid_from_features(a, b, method="svd")
    assert fast.value == pytest.approx(slow.value, rel=1e-6)
    assert (slow.method, fast.method) == ("sqrtm", "svd")


def test_fewer_images_than_dimensions_warns_and_notes_it() -> None:
    rng = np.random.default_rng(1)
    with pytest.warns(FIDWarning, match="fewer images than dimensions"):
        result = fid_from_features(rng.normal(size=(3, 4)), rng.normal(size=(6, 4)))
    assert len(result.notes) == 1 and "3 vs 6 images" in result.notes[0] and "the first set" in result.notes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FIDWarning)
        assert fid_from_features(rng.normal(size=(6, 4)), rng.normal(size=(5, 4))).notes == ()
    with pytest.raises(FIDError, match="at least 2"):
        fid_from_features(rng.normal(size=(1, 4)), rng.normal(size=(5, 4)))


def test_results_say_which_resize_mode_produced_them() -> None:
    assert "pytorch-fid resize: bilinear" in str(FIDResult(1.5, "pytorch-fid", 10, 12))
    assert "clean-fid resize: PIL bicubic" in str(FIDResult(1.5, "clean-fid", 10, 12))
    assert "resize mode unknown" in str(FIDResult(1.5, None, 10, 12))
    assert float(FIDResult(1.5, None, 10, 12)) == 1.5
    with pytest.raises(ValueError, match="resize mode"):
        fid_from_features(np.eye(3), np.eye(3), resize="bicubic")
