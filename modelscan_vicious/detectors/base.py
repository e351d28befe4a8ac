"""Viciousness detectors behind one small base class, found through an explicit registry.

A detector declares what it needs (`DetectorNeeds`); the pipeline runs every registered detector the
scan can serve and records the others as skipped with the reason. Registration happens in one place,
`scanning/plugins.py`; the first registered detector that gives a result is the report's P(vicious).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from modelscan_vicious.attacks.base import AttackOutcome
from modelscan_vicious.registry import Registry
from modelscan_vicious.results import ViciousnessResult

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelUnderTest:
    """One model as the detector sees it: a predictor over image-space inputs, and maybe a trainable copy."""

    predict: Callable[[np.ndarray], np.ndarray]  # (N, C, H, W) in [0, 1] -> raw outputs (N, classes)
    output_kind: str
    attack: AttackOutcome  # the surrogate attack on its full outputs
    # makes a fresh trainable copy (a torch module over image-space inputs); None for a black box
    trainable: Callable[[], nn.Module] | None = None


@dataclass(frozen=True)
class DetectorContext:
    suspect: ModelUnderTest
    references: list[ModelUnderTest]
    labelled_images: np.ndarray
    labelled_labels: np.ndarray
    probe_images: np.ndarray  # held-out inputs on which outputs are compared
    finetune_steps: int
    n_bootstrap: int
    seed: int
    device: str
    white_box: bool
    labelled_only: bool = False  # no --aux: the attack and the references learned from the labelled set alone
    references_method: str = "scratch"  # how the references were made: "scratch" or "head"


@dataclass(frozen=True)
class DetectorNeeds:
    reference_attack: bool = True  # the reference attack's outcomes on the suspect and on every reference
    trainable: bool = False  # a trainable copy of the suspect (white-box); without it the detector is skipped


class Detector(ABC):
    name: ClassVar[str] = ""
    needs: ClassVar[DetectorNeeds] = DetectorNeeds()

    @abstractmethod
    def run(self, context: DetectorContext) -> ViciousnessResult:
        """Compare the suspect with its honest references and return a calibrated probability."""


DETECTORS: Registry[Detector] = Registry("detector")
"""Filled in `scanning/plugins.py`; factories take no arguments (the context carries the budget's settings)."""
