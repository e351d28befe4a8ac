"""Mitigations a deployer can apply without retraining, each measured by re-attacking the mitigated outputs.

For each: accuracy on the labelled set under the mitigation, and R/SSIM of the surrogate attack
retrained against the mitigated outputs (Laplace noise is drawn afresh at every query, as in
Titcombe et al.). The recommendation is the one that costs least accuracy among those that bring R
down to what honest references of the same architecture give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from modelscan_vicious.attacks.base import Attack, AttackData
from modelscan_vicious.release import PROBABILITY_FLOOR, attack_features, released_outputs
from modelscan_vicious.results import MitigationResult

LAPLACE_SCALES = (0.5, 1.0, 2.0)
R_MARGIN = 0.02  # R within this of the honest level counts as "brought down"


@dataclass(frozen=True)
class Mitigation:
    name: str
    description: str
    release: Callable[[np.ndarray, str, np.random.Generator], tuple[np.ndarray, str]]  # -> (values, feature kind)


def _laplace(scale: float) -> Mitigation:
    def release(outputs, kind, rng):
        scores = np.log(np.maximum(outputs, PROBABILITY_FLOOR)) if kind == "probabilities" else outputs
        return (scores + rng.laplace(0.0, scale, size=scores.shape)).astype(np.float32), "logits"

    return Mitigation(f"laplace-{scale:g}", f"add Laplace(0, {scale:g}) noise to the logits at every query", release)


def _top_k(k: int) -> Mitigation:
    return Mitigation(
        f"top-{k}",
        f"release only the top-{k} probabilities",
        lambda out, kind, rng: (released_outputs(out, kind, "top-k", k), "top-k"),
    )


def _rounded(decimals: int) -> Mitigation:
    def release(outputs, kind, rng):
        return np.round(released_outputs(outputs, kind, "softmax"), decimals), "softmax"

    return Mitigation(f"round-{decimals}", f"release softmax probabilities rounded to {decimals} decimal(s)", release)


def default_mitigations() -> list[Mitigation]:
    """Cheapest first: the order breaks ties in the recommendation."""
    return [
        _rounded(2),
        _rounded(1),
        *(_laplace(s) for s in LAPLACE_SCALES),
        _top_k(3),
        _top_k(1),
        Mitigation(
            "label",
            "release only the predicted label",
            lambda out, kind, rng: (released_outputs(out, kind, "label"), "label"),
        ),
    ]


def evaluate_mitigations(
    predict: Callable[[np.ndarray], np.ndarray],
    output_kind: str,
    attack: Attack,
    data: AttackData,
    labelled: tuple[np.ndarray, np.ndarray],
    honest_R: float,
    *,
    seed: int,
) -> list[MitigationResult]:
    images, labels = labelled
    raw_labelled = predict(images)
    base_accuracy = float((raw_labelled.argmax(1) == labels).mean())
    results = []
    for index, mitigation in enumerate(default_mitigations()):
        rng = np.random.default_rng(seed + index)

        def oracle(x, mitigation=mitigation, rng=rng):
            values, feature_kind = mitigation.release(predict(x), output_kind, rng)
            return attack_features(values, "logits", feature_kind)  # values are already released

        values, _ = mitigation.release(raw_labelled, output_kind, rng)
        accuracy = float((values.argmax(1) == labels).mean())
        outcome = attack.run(oracle, data, seed=seed)
        results.append(
            MitigationResult(
                mitigation.name, mitigation.description, accuracy, base_accuracy - accuracy, outcome.R, outcome.ssim
            )
        )
    return _recommend(results, honest_R)


def _recommend(results: list[MitigationResult], honest_R: float) -> list[MitigationResult]:
    good = [r for r in results if r.R <= honest_R + R_MARGIN]
    if not good:
        return results
    best = min(good, key=lambda r: r.accuracy_drop)
    return [MitigationResult(**{**r.to_dict(), "recommended": r is best}) for r in results]
