"""Probability-output references re-tempered to the suspect's confidence."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from modelscan_vicious.detectors.confidence import (
    Tempered,
    floored_log_confidence,
    matching_temperature,
    tempered,
)
from modelscan_vicious.scanning.stages import Reference, ReferenceSet


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


LOGITS = np.random.default_rng(0).normal(0, 4, (200, 10))


def test_tempering_keeps_the_class_order_and_sums_to_one():
    p = _softmax(LOGITS)
    for t in (0.3, 1.0, 3.0):
        q = tempered(p, t)
        np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-9)
        assert (q.argmax(1) == p.argmax(1)).all()
    np.testing.assert_allclose(tempered(p, 1.0), p, atol=1e-9)
    assert (
        floored_log_confidence(tempered(p, 3.0)) > floored_log_confidence(p) > floored_log_confidence(tempered(p, 0.3))
    )


def test_the_matching_temperature_recovers_a_known_sharpening():
    reference = _softmax(LOGITS)
    suspect = _softmax(2.0 * LOGITS)  # the same model, twice as confident
    t = matching_temperature(reference, floored_log_confidence(suspect))
    assert abs(t - 0.5) < 1e-3
    np.testing.assert_allclose(tempered(reference, t), suspect, atol=1e-3)


def test_the_module_tempers_like_the_numpy_function():
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Linear(4, 10), nn.Softmax(dim=1)).eval()
    x = torch.randn(16, 4)
    with torch.no_grad():
        out = Tempered(inner, 2.5)(x).numpy()
        raw = inner(x).numpy()
    np.testing.assert_allclose(out, tempered(raw, 2.5), atol=1e-5)


def _suspect_and_references(kind: str):
    torch.manual_seed(0)
    sharp = nn.Sequential(nn.Linear(4, 10), nn.Softmax(dim=1)).eval()
    with torch.no_grad():
        sharp[0].weight.mul_(6.0)
    references = [Reference(nn.Sequential(nn.Linear(4, 10), nn.Softmax(dim=1)).eval(), kind) for _ in range(2)]
    probe = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    predict = lambda x: sharp(torch.from_numpy(x)).detach().numpy()  # noqa: E731
    loaded = SimpleNamespace(
        model=SimpleNamespace(output_kind=kind), predict=predict, prepared=SimpleNamespace(probe_images=probe)
    )
    return loaded, ReferenceSet(references, ["trained"])


def test_probability_references_are_matched_to_the_suspect_and_say_so():
    from modelscan_vicious.scanning.references import match_confidence
    from modelscan_vicious.training.classifier import module_predictor

    loaded, references = _suspect_and_references("probabilities")
    matched = match_confidence(references, loaded, SimpleNamespace(device="cpu"))
    assert all(isinstance(r.module, Tempered) for r in matched.references)
    assert len(matched.notes) == 2 and matched.notes[0] == "trained" and "re-tempered" in matched.notes[1]
    probes = loaded.prepared.probe_images
    target = floored_log_confidence(loaded.predict(probes))
    for reference in matched.references:
        module = reference.module
        assert module.temperature < 1.0  # the suspect is sharper than the untrained references
        got = floored_log_confidence(module_predictor(module)(probes))
        assert abs(got - target) < 1e-3 * abs(target)


def test_logit_models_are_left_alone():
    from modelscan_vicious.scanning.references import match_confidence

    loaded, references = _suspect_and_references("logits")
    assert match_confidence(references, loaded, SimpleNamespace(device="cpu")) is references


def test_fine_tuning_copies_of_a_tempered_reference_keep_its_temperature():
    from modelscan_vicious.scanning.references import reference_copier

    factory = lambda: nn.Sequential(nn.Linear(4, 10), nn.Softmax(dim=1))  # noqa: E731
    trained = factory()
    copy = reference_copier(Tempered(trained, 0.4), factory)()
    assert isinstance(copy, Tempered) and copy.temperature == 0.4
    assert all(torch.equal(a, b) for a, b in zip(copy.inner.state_dict().values(), trained.state_dict().values()))
