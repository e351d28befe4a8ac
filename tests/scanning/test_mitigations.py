"""Mitigations: every one is measured by re-attacking its outputs, and the recommendation follows the rule."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.loading import load_model
from modelscan_vicious.results import MitigationResult
from modelscan_vicious.scanning.attack_data import prepare_attack_data
from modelscan_vicious.scanning.mitigations import _recommend, default_mitigations, evaluate_mitigations


@pytest.fixture(scope="module")
def measured(tiny_models, digits_splits):
    model = load_model(tiny_models.vicious_onnx.path)
    pool = digits_splits.pool
    data = prepare_attack_data(pool.images[:100], pool.images[100:400], "pool", max_aux=300, seed=0).attack
    labelled = (pool.images[:100], pool.labels[:100])
    results = evaluate_mitigations(
        model.predict, model.output_kind, InverseNetworkAttack(epochs=3), data, labelled, honest_R=10.0, seed=0
    )
    return model, labelled, results


def test_every_mitigation_is_measured(measured):
    _, _, results = measured
    assert [r.name for r in results] == [m.name for m in default_mitigations()]
    for r in results:
        assert 0.0 <= r.accuracy <= 1.0 and np.isfinite(r.R) and -1.0 <= r.ssim <= 1.0


def test_label_only_and_top1_keep_the_accuracy_exactly(measured):
    model, (images, labels), results = measured
    base = float((model.predict(images).argmax(1) == labels).mean())
    by_name = {r.name: r for r in results}
    assert by_name["label"].accuracy == by_name["top-1"].accuracy == pytest.approx(base)
    assert by_name["label"].accuracy_drop == pytest.approx(0.0)


def test_strong_laplace_noise_costs_accuracy(measured):
    by_name = {r.name: r for r in measured[2]}
    assert by_name["laplace-2"].accuracy <= by_name["laplace-0.5"].accuracy


def test_the_cheapest_mitigation_that_brings_R_down_is_recommended():
    def result(name, drop, R):
        return MitigationResult(name, name, 0.9 - drop, drop, R, 0.5)

    results = [result("a", 0.00, 1.50), result("b", 0.05, 1.00), result("c", 0.01, 1.01), result("d", 0.00, 1.40)]
    picked = [r.name for r in _recommend(results, honest_R=1.0) if r.recommended]
    assert picked == ["c"]  # a and d leave R too high; c costs less accuracy than b
    assert not any(r.recommended for r in _recommend(results, honest_R=0.5))
