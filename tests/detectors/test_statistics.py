"""Pure statistics behind the viciousness evidence, checked on closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.detectors.statistics import (
    PROBABILITY_FLOOR,
    centred_log_scores,
    reference_spread,
    relative_drift,
    robust_z,
    within_class_effective_rank,
    within_class_variance_share,
)

RNG = np.random.default_rng(0)


def test_centred_scores_ignore_the_per_row_shift_softmax_removes():
    logits = RNG.normal(size=(50, 10))
    shifted = logits + RNG.normal(size=(50, 1)) * 100
    np.testing.assert_allclose(centred_log_scores(shifted, "logits"), centred_log_scores(logits, "logits"), atol=1e-9)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(
        centred_log_scores(probs, "probabilities"), centred_log_scores(logits, "logits"), atol=1e-9
    )
    np.testing.assert_allclose(centred_log_scores(logits, "logits").mean(1), 0.0, atol=1e-12)


def test_centred_scores_floor_zero_probabilities():
    scores = centred_log_scores(np.array([[1.0, 0.0]]), "probabilities")
    assert np.all(np.isfinite(scores))
    assert scores[0, 0] - scores[0, 1] == pytest.approx(-np.log(PROBABILITY_FLOOR))


def test_within_class_share_is_zero_when_outputs_are_constant_per_class():
    classes = np.repeat(np.arange(4), 25)
    scores = np.eye(4)[classes] * 5.0
    assert within_class_variance_share(scores, classes) == 0.0


def test_within_class_share_is_one_when_class_means_coincide():
    classes = RNG.integers(0, 3, 3000)
    scores = RNG.normal(size=(3000, 6))
    assert within_class_variance_share(scores, classes) == pytest.approx(1.0, abs=0.01)


def test_within_class_share_of_constant_outputs_is_zero_not_nan():
    assert within_class_variance_share(np.ones((10, 3)), np.zeros(10, dtype=int)) == 0.0


def test_within_class_share_matches_a_direct_computation():
    classes = RNG.integers(0, 3, 200)
    scores = RNG.normal(size=(200, 4)) + classes[:, None] * 2.0
    within = sum(np.var(scores[classes == c], axis=0).sum() * (classes == c).sum() for c in range(3))
    total = np.var(scores, axis=0).sum() * len(scores)
    assert within_class_variance_share(scores, classes) == pytest.approx(within / total)


@pytest.mark.parametrize("dim", [2, 5, 10])
def test_effective_rank_of_isotropic_noise_is_its_dimension(dim):
    scores = RNG.normal(size=(4000, dim))
    classes = RNG.integers(0, 4, 4000)
    assert within_class_effective_rank(scores, classes) == pytest.approx(dim, rel=0.05)


def test_effective_rank_of_noise_along_one_direction_is_one():
    direction = RNG.normal(size=8)
    scores = (RNG.normal(size=(500, 1)) + RNG.integers(0, 3, (500, 1)) * 10.0) * direction
    classes = RNG.integers(0, 3, 500)  # any labelling: every residual stays on the one line
    assert within_class_effective_rank(scores, classes) == pytest.approx(1.0, abs=1e-6)


def test_effective_rank_of_constant_outputs_per_class_is_zero():
    classes = np.repeat(np.arange(3), 10)
    assert within_class_effective_rank(np.eye(3)[classes], classes) == 0.0


def test_relative_drift_is_zero_for_identical_outputs_and_scales_linearly():
    before = RNG.normal(size=(100, 10))
    assert relative_drift(before, before.copy()) == 0.0
    centred = before - before.mean(0)
    assert relative_drift(before, before + 0.3 * centred) == pytest.approx(0.3)
    assert relative_drift(before, before - 2.0 * centred) == pytest.approx(2.0)


def test_relative_drift_of_constant_outputs_is_finite():
    assert np.isfinite(relative_drift(np.ones((5, 3)), np.ones((5, 3)) * 2))


def test_robust_z_is_the_plain_z_score_when_references_spread():
    refs = np.array([1.0, 2.0, 3.0, 4.0])
    assert robust_z(6.0, refs) == pytest.approx((6.0 - 2.5) / np.std(refs, ddof=1))


def test_robust_z_floors_the_spread_relative_to_the_mean():
    refs = np.array([2.0, 2.0, 2.0])  # references that agree exactly: spread 0
    assert robust_z(2.5, refs) == pytest.approx(0.5 / (0.05 * 2.0))
    assert robust_z(2.5, refs, reference_spread(refs, relative_floor=0.5)) == pytest.approx(0.5)


def test_robust_z_uses_a_given_spread_so_resamples_cannot_collapse_it():
    refs = np.array([1.0, 2.0, 3.0])
    repeated = refs[[0, 0, 0]]  # a bootstrap resample that repeats one reference
    assert robust_z(4.0, repeated, reference_spread(refs)) == pytest.approx(3.0 / np.std(refs, ddof=1))
    assert abs(robust_z(4.0, repeated)) > abs(robust_z(4.0, repeated, reference_spread(refs)))


def test_robust_z_floors_the_spread_absolutely_near_zero_and_for_one_reference():
    assert robust_z(0.01, np.zeros(3)) == pytest.approx(10.0)
    assert robust_z(0.01, np.array([0.0])) == pytest.approx(10.0)
    assert robust_z(-0.01, np.zeros(3)) == pytest.approx(-10.0)
