"""The class-residual encoding keeps tiny within-class signals visible to the decoder."""

from __future__ import annotations

import numpy as np

from modelscan_vicious.attacks.feature_encoding import ClassResidualEncoder


def test_encoding_is_one_hot_class_plus_standardised_residual_plus_standardised_outputs():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 20.0  # large between-class spread
    classes = rng.integers(0, 3, 300)
    hidden = rng.normal(size=300)  # the secret: a tiny within-class signal in dimension 0
    features = centres[classes] + 1e-3 * np.outer(hidden, [1.0, 0.0, 0.0])
    encoded = ClassResidualEncoder.fit(features).encode(features)
    assert encoded.shape == (300, 9)
    assert np.array_equal(encoded[:, :3].argmax(1), features.argmax(1))
    assert np.allclose(encoded[:, :3].sum(1), 1.0)
    # Plain standardisation leaves the secret at about 1e-4 of the scale; here it spans unit variance.
    assert abs(np.corrcoef(encoded[:, 3], hidden)[0, 1]) > 0.99
    assert 0.5 < encoded[:, 3].std() < 2.0
    plain = (features - features.mean(0)) / features.std(0)
    within = plain[classes == 1, 0] - plain[classes == 1, 0].mean()
    assert within.std() < 1e-3
    assert np.allclose(encoded[:, 6:], plain, atol=1e-4)  # the last block is that plain view


def test_a_class_absent_from_training_falls_back_to_the_overall_mean():
    features = np.array([[5.0, 0.0, 0.0], [4.0, 1.0, 0.0], [0.0, 5.0, 0.0], [1.0, 4.0, 0.0]])
    encoder = ClassResidualEncoder.fit(features)
    unseen = encoder.encode(np.array([[0.0, 0.0, 9.0]]))
    assert unseen[0, 2] == 1.0 and np.isfinite(unseen).all()
