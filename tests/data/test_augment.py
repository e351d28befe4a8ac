"""Augmentation of the labelled set when no auxiliary data is given: originals kept, values in range."""

from __future__ import annotations

import numpy as np

from modelscan_vicious.data.augment import augment


def images(n: int) -> np.ndarray:
    return np.random.default_rng(1).random((n, 1, 8, 8), dtype=np.float32)


def test_augment_keeps_the_originals_and_stays_in_range():
    base = images(5)
    out = augment(base, 4, np.random.default_rng(0))
    assert out.shape == (20, 1, 8, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:5], base)
    assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out[5:10], base)
