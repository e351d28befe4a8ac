"""Attacks are found through an explicit registry."""

from __future__ import annotations

import pytest

import modelscan_vicious.attacks.inverse_network  # noqa: F401  (registers the attack)
from modelscan_vicious.attacks.base import create_attack, registered_attacks
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack


def test_create_registered_attack_passes_keywords():
    attack = create_attack("inverse-network", epochs=3, lr=0.01)
    assert isinstance(attack, InverseNetworkAttack)
    assert (attack.epochs, attack.lr) == (3, 0.01)
    assert attack.needs_trainable is False
    assert "inverse-network" in registered_attacks()


def test_unknown_attack_names_the_registered_ones():
    with pytest.raises(KeyError, match="inverse-network"):
        create_attack("gradient-inversion")
