"""Tests for modelscan_vicious.metrics.risk against closed forms, scipy and scikit-learn."""

import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis
from sklearn.covariance import OAS, LedoitWolf

from modelscan_vicious.metrics import (
    ESTIMATORS,
    CovarianceModel,
    fit_covariance,
    mahalanobis_distances,
    per_sample_risk,
    reconstruction_risk,
)


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """Correlated (60, 6) data in [0, 1], so the covariance is far from diagonal."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(60, 3))
    mixing = rng.normal(size=(3, 6))
    data = latent @ mixing + 0.3 * rng.normal(size=(60, 6))
    return (data - data.min()) / (data.max() - data.min())


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return np.random.default_rng(1).uniform(size=(20, 6))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_risk_is_one_when_reconstruction_is_the_mean(samples, test_images, estimator):
    cov = fit_covariance(samples, estimator)
    mean_guess = np.broadcast_to(cov.mean, test_images.shape)
    assert reconstruction_risk(test_images, mean_guess, cov) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(per_sample_risk(test_images, mean_guess, cov), 1.0, atol=1e-9)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_risk_rises_as_noise_shrinks(samples, test_images, estimator):
    cov = fit_covariance(samples, estimator)
    noise = np.random.default_rng(2).normal(size=test_images.shape)
    scales = [1.0, 0.5, 0.2, 0.05, 0.01]
    risks = [reconstruction_risk(test_images, test_images + s * noise, cov) for s in scales]
    assert np.all(np.diff(risks) > 0)


def test_risk_rises_as_reconstruction_moves_from_mean_to_original(samples, test_images):
    cov = fit_covariance(samples)
    steps = [0.0, 0.3, 0.6, 0.9]
    risks = [reconstruction_risk(test_images, cov.mean + t * (test_images - cov.mean), cov) for t in steps]
    assert risks[0] == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.diff(risks) > 0)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_distances_match_scipy(samples, test_images, estimator):
    cov = fit_covariance(samples, estimator)
    others = np.random.default_rng(3).uniform(size=test_images.shape)
    ours = mahalanobis_distances(test_images, others, cov.precision)
    expected = [mahalanobis(u, v, cov.precision) for u, v in zip(test_images, others)]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    to_mean = mahalanobis_distances(test_images, cov.mean, cov.precision)
    expected_mean = [mahalanobis(u, cov.mean, cov.precision) for u in test_images]
    np.testing.assert_allclose(to_mean, expected_mean, rtol=1e-10)


@pytest.mark.parametrize("shape", [(60, 6), (5, 10)], ids=["n>d", "n<d singular"])
def test_empirical_pinv_matches_numpy(shape):
    data = np.random.default_rng(4).uniform(size=shape)
    cov = fit_covariance(data, "empirical-pinv")
    np.testing.assert_allclose(cov.precision, np.linalg.pinv(np.cov(data, rowvar=False)))
    np.testing.assert_allclose(cov.mean, data.mean(axis=0))


@pytest.mark.parametrize(("estimator", "reference"), [("ledoit-wolf", LedoitWolf), ("oas", OAS)])
def test_shrinkage_matches_sklearn(samples, estimator, reference):
    cov = fit_covariance(samples, estimator)
    fitted = reference().fit(samples)
    np.testing.assert_allclose(cov.precision, fitted.precision_)
    np.testing.assert_allclose(cov.mean, fitted.location_)


def test_covariance_model_records_provenance_and_is_read_only(samples):
    cov = fit_covariance(samples, "oas")
    assert cov.to_dict() == {"estimator": "oas", "n_samples": 60, "dimension": 6}
    with pytest.raises(ValueError):
        cov.mean[0] = 0.0
    with pytest.raises(AttributeError):
        cov.estimator = "other"  # type: ignore[misc]


def test_image_shaped_inputs_are_flattened(samples):
    images = samples.reshape(60, 1, 2, 3)
    cov_flat = fit_covariance(samples)
    cov_img = fit_covariance(images)
    np.testing.assert_allclose(cov_img.precision, cov_flat.precision)
    recon = images + 0.1
    assert per_sample_risk(images, recon, cov_img) == pytest.approx(per_sample_risk(samples, samples + 0.1, cov_flat))


def test_perfect_reconstruction_is_guarded_by_eps(samples, test_images):
    cov = fit_covariance(samples)
    risks = per_sample_risk(test_images, test_images, cov, eps=1e-6)
    expected = mahalanobis_distances(test_images, cov.mean, cov.precision) / 1e-6
    np.testing.assert_allclose(risks, expected)
    assert np.all(np.isfinite(risks))


def test_negative_quadratic_forms_are_clamped_to_zero():
    precision = -1e-18 * np.eye(3)
    distances = mahalanobis_distances(np.ones((2, 3)), np.zeros(3), precision)
    np.testing.assert_array_equal(distances, [0.0, 0.0])


def test_unknown_estimator_is_rejected(samples):
    with pytest.raises(ValueError, match="unknown covariance estimator 'graphical-lasso'"):
        fit_covariance(samples, "graphical-lasso")


def test_too_few_samples_are_rejected():
    with pytest.raises(ValueError, match="at least 2 samples"):
        fit_covariance(np.zeros((1, 4)))


def test_mismatched_shapes_are_rejected(samples, test_images):
    cov = fit_covariance(samples)
    with pytest.raises(ValueError, match="same shape"):
        per_sample_risk(test_images, test_images[:5], cov)
    with pytest.raises(ValueError, match="fitted on 6"):
        per_sample_risk(np.zeros((2, 4)), np.zeros((2, 4)), cov)
    with pytest.raises(ValueError, match="precision must have shape"):
        mahalanobis_distances(test_images, test_images, np.eye(3))
    with pytest.raises(ValueError, match="mean must be"):
        CovarianceModel(mean=np.zeros(3), precision=np.eye(4), estimator="oas", n_samples=2)


def test_low_rank_ledoit_wolf_is_scikit_learns_estimate(monkeypatch):
    """Large images take the Gram-matrix route; on a size both routes handle, they agree."""
    from sklearn.covariance import LedoitWolf

    from modelscan_vicious.metrics import risk

    rng = np.random.default_rng(0)
    basis = rng.normal(size=(6, 300))
    samples = rng.normal(size=(80, 6)) @ basis + 0.3 * rng.normal(size=(80, 300))
    monkeypatch.setattr(risk, "DENSE_MAX_FEATURES", 100)
    low_rank = fit_covariance(samples)
    assert low_rank.precision is None and low_rank.low_rank is not None and low_rank.n_samples == 80
    fitted = LedoitWolf().fit(samples)
    tests = rng.normal(size=(10, 6)) @ basis
    expected = mahalanobis_distances(tests, fitted.location_, fitted.precision_)
    np.testing.assert_allclose(low_rank.distances(tests, low_rank.mean), expected, rtol=1e-4)
    recon = tests + 0.1 * rng.normal(size=tests.shape)
    dense = risk.CovarianceModel(fitted.location_, fitted.precision_, "ledoit-wolf", 80)
    np.testing.assert_allclose(per_sample_risk(tests, recon, low_rank), per_sample_risk(tests, recon, dense), rtol=1e-4)


def test_low_rank_route_caps_its_samples_and_handles_rgb_224():
    from modelscan_vicious.metrics import risk

    rng = np.random.default_rng(1)
    images = rng.random((risk.MAX_LOW_RANK_SAMPLES + 8, 3, 64, 64), dtype=np.float32)
    cov = fit_covariance(images)
    assert cov.n_samples == risk.MAX_LOW_RANK_SAMPLES and cov.dimension == 3 * 64 * 64
    risks = per_sample_risk(images[:4], images[:4] * 0.9 + 0.05, cov)
    assert risks.shape == (4,) and np.all(risks > 1)  # closer than the mean is


def test_degenerate_samples_are_refused_on_the_low_rank_route(monkeypatch):
    from modelscan_vicious.metrics import risk

    monkeypatch.setattr(risk, "DENSE_MAX_FEATURES", 10)
    with pytest.raises(ValueError, match="degenerate"):
        fit_covariance(np.ones((5, 20)))
