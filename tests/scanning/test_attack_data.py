"""Carving the attacker's data out of the auxiliary inputs or the labelled set."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.errors import DataLoadError
from modelscan_vicious.scanning.attack_data import AUGMENT_COPIES, MAX_EVAL, MIN_EVAL, prepare_attack_data


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 8, 8), dtype=np.float32)


def test_with_auxiliary_data_evaluation_is_held_out_and_not_a_lower_bound():
    aux = images(300)
    prepared = prepare_attack_data(images(50, 1), aux, "aux.npz", max_aux=200, seed=0)
    attack = prepared.attack
    assert len(attack.eval) == 40 and len(attack.train) == 160  # 20 % of the 200 kept
    assert attack.lower_bound is False and "aux.npz" in attack.description
    flat_train = {row.tobytes() for row in attack.train}
    assert not any(row.tobytes() in flat_train for row in attack.eval)
    assert prepared.probe_images is attack.eval and prepared.reference_images is attack.train


def test_evaluation_size_is_clipped():
    small = prepare_attack_data(images(10), images(60), "aux", max_aux=1000, seed=0).attack
    assert len(small.eval) == MIN_EVAL
    large = prepare_attack_data(images(10), images(3000), "aux", max_aux=3000, seed=0).attack
    assert len(large.eval) == MAX_EVAL


def test_too_few_auxiliary_inputs_is_a_data_error():
    """Fewer than 2 x MIN_EVAL used to leave the attack nothing to train on (an internal error)."""
    with pytest.raises(DataLoadError, match="at least 40"):
        prepare_attack_data(images(50), images(15), "tiny.npz", max_aux=1000, seed=0)
    with pytest.raises(DataLoadError, match="tiny.npz"):
        prepare_attack_data(images(50), images(300), "tiny.npz", max_aux=10, seed=0)


def test_without_auxiliary_data_the_labelled_set_is_augmented_and_a_lower_bound():
    labelled = images(150)
    attack = prepare_attack_data(labelled, None, None, max_aux=2000, seed=0).attack
    assert len(attack.eval) == 30
    assert len(attack.train) == 120 * AUGMENT_COPIES
    assert attack.lower_bound is True and "augmented" in attack.description


def test_same_seed_same_split():
    a = prepare_attack_data(images(100), images(200), "aux", max_aux=200, seed=4).attack
    b = prepare_attack_data(images(100), images(200), "aux", max_aux=200, seed=4).attack
    c = prepare_attack_data(images(100), images(200), "aux", max_aux=200, seed=5).attack
    np.testing.assert_array_equal(a.eval, b.eval)
    assert not np.array_equal(a.eval, c.eval)
