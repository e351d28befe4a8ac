"""Attacks are found through an explicit registry, filled in one place (scanning/plugins.py)."""

from __future__ import annotations

import pytest

from modelscan_vicious.attacks.base import ATTACKS
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.attacks.rmle import RmleAttack
from modelscan_vicious.config import BUDGETS
from modelscan_vicious.registry import Registry
from modelscan_vicious.scanning import plugins  # noqa: F401  (fills the registries)


def test_registered_attacks_are_built_from_the_budget_in_registration_order():
    budget = BUDGETS["fast"]
    assert ATTACKS.names() == ["inverse-network", "rmle"]
    surrogate = ATTACKS.create("inverse-network", budget=budget, device="cpu")
    assert isinstance(surrogate, InverseNetworkAttack) and surrogate.epochs == budget.attack_epochs
    rmle = ATTACKS.create("rmle", budget=budget, device="cpu")
    assert isinstance(rmle, RmleAttack) and (rmle.samples, rmle.steps) == (budget.rmle_samples, budget.rmle_steps)
    assert rmle.needs.trainable and not surrogate.needs.trainable and surrogate.needs.references


def test_unknown_attack_names_the_registered_ones():
    with pytest.raises(KeyError, match="inverse-network"):
        ATTACKS.create("gradient-inversion", budget=BUDGETS["fast"], device="cpu")


def test_a_taken_name_is_refused_unless_replaced():
    registry: Registry[object] = Registry("attack")
    registry.register("a", object)
    with pytest.raises(ValueError, match="'a' is already registered"):
        registry.register("a", dict)
    registry.register("a", dict, replace=True)
    assert registry.create("a") == {}
    with registry.registered("b", list):
        assert registry.names() == ["a", "b"]
    assert registry.names() == ["a"]
