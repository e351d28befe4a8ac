"""Probability-output references at the suspect's confidence.

An attacker reads probabilities through a log floored at PROBABILITY_FLOOR (release.py):
whatever a model encodes in probabilities below the floor is lost. How much falls below depends on
how confident the model is, which depends on how long and how it was trained, not on whether it
was trained viciously. References trained from scratch on a small set end up far more (or less)
confident than the owner's model, so their leakage differs for that reason alone: honest
softmax-release models trained briefly looked vicious against them, and vicious ones looked
vicious for no reason of their own.

Each reference's probabilities are therefore re-tempered, softmax(log p / T), with T chosen so that
its mean floored log-probability on the probe inputs equals the suspect's. Tempering is monotone
per row, so it changes only the confidence, not the order of the classes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from modelscan_vicious.release import PROBABILITY_FLOOR

LOG_T_RANGE = (-3.0, 5.0)  # T from 0.05 to 150
BISECTION_STEPS = 50
TINY = torch.finfo(torch.float32).tiny  # keeps log p finite where a probability underflowed to 0


def floored_log_confidence(probabilities: np.ndarray) -> float:
    """Mean log-probability after the attacker's floor: lower means more entries lost below it."""
    return float(np.log(np.maximum(probabilities, PROBABILITY_FLOOR)).mean())


def tempered(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row by row, in float64."""
    logits = np.log(np.maximum(probabilities.astype(np.float64), float(TINY))) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def matching_temperature(reference_probabilities: np.ndarray, target: float) -> float:
    """T at which the reference's floored log-confidence equals `target` (bisection on log T;
    the statistic rises with T as probabilities flatten towards uniform)."""
    low, high = LOG_T_RANGE
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if floored_log_confidence(tempered(reference_probabilities, float(np.exp(middle)))) < target:
            low = middle
        else:
            high = middle
    return float(np.exp((low + high) / 2))


class Tempered(nn.Module):
    """A probability-output reference whose outputs are re-tempered to a given confidence."""

    def __init__(self, inner: nn.Module, temperature: float) -> None:
        super().__init__()
        self.inner = inner
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(torch.log(self.inner(x).clamp_min(TINY)) / self.temperature, dim=1)
