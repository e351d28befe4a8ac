"""Honest reference copies: the suspect's own architecture, re-initialised and trained for the task only.

A reference sees the same kind of data the suspect was meant for (the labelled set plus auxiliary
inputs labelled by the suspect's top-1 prediction, never its scores), so any leakage it shows is
what honest training of that architecture gives. Comparing against it is what makes the evidence
relative, rather than a fixed absolute threshold that unusual honest models would trip.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceRecipe:
    """One honest way to train a reference."""

    name: str
    epoch_fraction: float  # of the budget's reference epochs
    weight_decay: float


# Honest models differ by recipe more than by seed: references trained one way agree too closely,
# and honest suspects trained briefly or with weight decay then look leakier than all of them.
REFERENCE_RECIPES = (
    ReferenceRecipe("standard", 1.0, 0.0),
    ReferenceRecipe("weight-decay", 1.0, 1e-3),
    ReferenceRecipe("short", 0.3, 0.0),
)


def reference_recipes(n_references: int) -> list[ReferenceRecipe]:
    """The recipe of each reference: REFERENCE_RECIPES in turn.

    For a model that outputs probabilities, recipe alone would also change how confident the
    references are, and with it how much survives the attacker's probability floor; those
    references are re-tempered to the suspect's confidence afterwards (detectors/confidence.py).
    """
    return [REFERENCE_RECIPES[i % len(REFERENCE_RECIPES)] for i in range(n_references)]
