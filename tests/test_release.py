"""What the deployment releases, and the decoder features an attacker derives from it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax
from scipy.special import softmax as scipy_softmax

from modelscan_vicious.release import PROBABILITY_FLOOR, attack_features, released_outputs, softmax


@pytest.fixture
def logits() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 3, size=(32, 10)).astype(np.float32)


def test_logits_release_passes_logits_through(logits):
    released = released_outputs(logits, "logits", "logits")
    assert released.dtype == np.float32
    np.testing.assert_array_equal(released, logits)
    np.testing.assert_array_equal(attack_features(released, "logits", "logits"), logits)


def test_softmax_release_rows_are_probabilities(logits):
    released = released_outputs(logits, "logits", "softmax")
    assert released.min() >= 0
    np.testing.assert_allclose(released.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(released, scipy_softmax(logits.astype(np.float64), axis=1), atol=1e-6)
    np.testing.assert_array_equal(released.argmax(1), logits.argmax(1))


def test_softmax_is_stable_for_huge_logits():
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]], atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 9])
def test_top_k_keeps_exactly_k_largest_probabilities(logits, k):
    probs = scipy_softmax(logits.astype(np.float64), axis=1)
    released = released_outputs(logits, "logits", "top-k", k)
    assert ((released > 0).sum(axis=1) == k).all()
    for row_released, row_probs in zip(released, probs):
        top = np.sort(row_probs)[::-1][:k]
        np.testing.assert_allclose(np.sort(row_released[row_released > 0])[::-1], top, rtol=1e-5)
        np.testing.assert_array_equal(np.flatnonzero(row_released), np.sort(np.argsort(-row_probs)[:k]))


def test_label_release_is_one_hot_of_argmax(logits):
    released = released_outputs(logits, "logits", "label")
    np.testing.assert_array_equal(released.sum(axis=1), 1.0)
    np.testing.assert_array_equal(released.argmax(1), logits.argmax(1))
    assert set(np.unique(released)) == {0.0, 1.0}
    # A one-hot is already what the attacker feeds the decoder: no log-rescaling.
    np.testing.assert_array_equal(attack_features(released, "logits", "label"), released)


def test_softmax_features_are_logits_up_to_a_row_constant(logits):
    """Yang et al.: log p = logits - logsumexp, so the attacker loses only a per-row shift."""
    features = attack_features(released_outputs(logits, "logits", "softmax"), "logits", "softmax")
    exact = log_softmax(logits.astype(np.float64), axis=1)
    kept = exact > np.log(PROBABILITY_FLOOR) + 0.1  # far below the floor, log p is clipped to it
    assert kept.mean() > 0.9 and not kept.all()  # the fixture exercises both cases
    np.testing.assert_allclose(features[kept], exact[kept], atol=1e-4)
    np.testing.assert_allclose(features[~kept], np.log(PROBABILITY_FLOOR), atol=0.11)
    for row_shift, row_kept in zip(features - logits, kept):
        assert np.ptp(row_shift[row_kept]) < 1e-4


def test_top_k_features_floor_the_dropped_probabilities(logits):
    released = released_outputs(logits, "logits", "top-k", 3)
    features = attack_features(released, "logits", "top-k")
    assert np.all(np.isfinite(features))
    np.testing.assert_allclose(features[released == 0], np.log(PROBABILITY_FLOOR), rtol=1e-6)
    np.testing.assert_allclose(features[released > 0], np.log(released[released > 0]), rtol=1e-5)


def test_probability_model_under_logits_release_gets_log_features(logits):
    probs = scipy_softmax(logits.astype(np.float64), axis=1).astype(np.float32)
    released = released_outputs(probs, "probabilities", "logits")
    np.testing.assert_array_equal(released, probs)  # it releases what it outputs: probabilities
    features = attack_features(released, "probabilities", "logits")
    np.testing.assert_allclose(features, np.log(np.maximum(probs, PROBABILITY_FLOOR)), rtol=1e-5)


def test_probability_model_is_not_softmaxed_twice(logits):
    probs = scipy_softmax(logits.astype(np.float64), axis=1)
    np.testing.assert_allclose(released_outputs(probs, "probabilities", "softmax"), probs, atol=1e-6)
    top1 = released_outputs(probs, "probabilities", "top-k", 1)
    np.testing.assert_allclose(top1.max(axis=1), probs.max(axis=1), rtol=1e-5)


def test_unknown_release_is_refused(logits):
    with pytest.raises(ValueError, match="unknown release"):
        released_outputs(logits, "logits", "sigmoid")
