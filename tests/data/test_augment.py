"""Augmentation of small attacker sets: originals kept, values in range, bounded growth."""

from __future__ import annotations

import numpy as np

from modelscan_vicious.data.augment import MAX_COPIES, augment, augment_to


def images(n: int) -> np.ndarray:
    return np.random.default_rng(1).random((n, 1, 8, 8), dtype=np.float32)


def test_augment_keeps_the_originals_and_stays_in_range():
    base = images(5)
    out = augment(base, 4, np.random.default_rng(0))
    assert out.shape == (20, 1, 8, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:5], base)
    assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out[5:10], base)


def test_augment_to_grows_small_sets_up_to_the_target_and_leaves_large_ones_alone():
    assert len(augment_to(images(300), 1000, np.random.default_rng(0))) == 1200
    assert len(augment_to(images(10), 1000, np.random.default_rng(0))) == 10 * MAX_COPIES
    large = images(1500)
    assert augment_to(large, 1000, np.random.default_rng(0)) is large


def test_augment_to_is_deterministic_for_a_seed():
    a = augment_to(images(50), 200, np.random.default_rng(3))
    b = augment_to(images(50), 200, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
