"""Which attack the report shows: the one that reconstructs best on the inputs it attacked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelscan_vicious.attacks.base import AttackOutcome
from modelscan_vicious.metrics import CovarianceModel, per_sample_risk, psnr, ssim


@dataclass(frozen=True)
class ScoredAttack:
    name: str
    originals: np.ndarray
    reconstructions: np.ndarray
    per_sample_risk: np.ndarray
    R: float
    psnr: float
    ssim: float

    def summary(self) -> dict:
        return {"name": self.name, "R": self.R, "psnr": self.psnr, "ssim": self.ssim, "n_eval": len(self.originals)}


def score(name: str, originals: np.ndarray, reconstructions: np.ndarray, covariance: CovarianceModel) -> ScoredAttack:
    risks = per_sample_risk(originals, reconstructions, covariance)
    return ScoredAttack(
        name,
        originals,
        reconstructions,
        risks,
        float(risks.mean()),
        psnr(originals, reconstructions),
        ssim(originals, reconstructions),
    )


def scored(name: str, outcome: AttackOutcome, eval_images: np.ndarray) -> ScoredAttack:
    """An attack's outcome with the inputs it reconstructed (all of `eval_images` unless it says otherwise)."""
    originals = eval_images if outcome.originals is None else outcome.originals
    return ScoredAttack(
        name, originals, outcome.reconstructions, outcome.per_sample_risk, outcome.R, outcome.psnr, outcome.ssim
    )


def strongest(
    reference: ScoredAttack, others: Sequence[ScoredAttack], covariance: CovarianceModel
) -> tuple[ScoredAttack, list[dict]]:
    """The attack that beats the reference attack by the most SSIM on the inputs both attacked (attacks on
    a subset attack the first inputs of the evaluation set), and the summary of every attack."""
    best, best_gain = reference, 0.0
    for other in others:
        n = len(other.originals)
        same_inputs = reference
        if n < len(reference.originals):
            same_inputs = score(reference.name, other.originals, reference.reconstructions[:n], covariance)
        gain = other.ssim - same_inputs.ssim
        if gain > best_gain:
            best, best_gain = other, gain
    return best, [reference.summary(), *(other.summary() for other in others)]
