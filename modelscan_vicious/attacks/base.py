"""Reconstruction attacks behind one small base class, found through an explicit registry.

An attack declares what it needs (`AttackNeeds`); the pipeline runs every registered attack that the
model and release allow, and records the others as skipped or not applicable with the reason.
Registration happens in one place, `scanning/plugins.py`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from modelscan_vicious.metrics import CovarianceModel, fit_covariance
from modelscan_vicious.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from modelscan_vicious.config import Budget

# A black box over image-space inputs (N, C, H, W) in [0, 1] -> released decoder features (N, D).
FeatureOracle = Callable[[np.ndarray], np.ndarray]
RELEASE_KINDS = ("logits", "softmax", "top-k", "label")


@dataclass(frozen=True)
class AttackData:
    train: np.ndarray  # attacker's inputs, image space
    eval: np.ndarray  # held-out inputs the attack never trains on
    covariance_samples: np.ndarray  # inputs for the data covariance of R
    description: str  # what the attacker's data is, for the report
    lower_bound: bool  # True when the attacker's data is weaker than a real server's

    @cached_property
    def covariance(self) -> CovarianceModel:
        """The data covariance of R, fitted once per scan: every attack on every model shares it."""
        return fit_covariance(self.covariance_samples.reshape(len(self.covariance_samples), -1))


@dataclass(frozen=True)
class WhiteBoxAccess:
    """What a white-box attack gets beyond the released outputs: the model itself."""

    trainable: Callable[[], nn.Module]  # a fresh copy over image-space inputs
    predict: Callable[[np.ndarray], np.ndarray]  # raw outputs (N, classes) for image-space inputs
    output_kind: str  # "logits" | "probabilities"
    release: str  # release kind: one of RELEASE_KINDS


@dataclass(frozen=True)
class AttackOutcome:
    reconstructions: np.ndarray  # of `originals`, image space
    R: float
    psnr: float
    ssim: float
    per_sample_risk: np.ndarray
    prototype_ssim: float = math.nan  # SSIM of the predicted-class mean image: what the label alone gives
    originals: np.ndarray | None = None  # the inputs attacked when only a subset of AttackData.eval; None: all


@dataclass(frozen=True)
class AttackNeeds:
    """What an attack needs from the model; the pipeline skips it, with the reason, when the model cannot give it."""

    trainable: bool = False  # gradients through a trainable copy (a white-box attack)
    releases: tuple[str, ...] = RELEASE_KINDS  # release kinds it can invert
    # Also attacked: the full outputs and every honest reference. The first registered attack with this
    # is the scan's reference attack: its outcomes feed the detectors and the honest R range.
    references: bool = False


class Attack(ABC):
    name: ClassVar[str] = ""
    needs: ClassVar[AttackNeeds] = AttackNeeds()

    @abstractmethod
    def run(
        self, oracle: FeatureOracle, data: AttackData, *, seed: int, model: WhiteBoxAccess | None = None
    ) -> AttackOutcome:
        """Attack one model (its released features, plus the model itself when `needs.trainable`) and
        score the reconstructions of data.eval (or of `outcome.originals`)."""

    @classmethod
    def for_budget(cls, budget: Budget, *, device: str) -> Attack:
        """The attack as a scan with `budget` on `device` runs it; attacks without settings take none."""
        return cls()

    def why_not_applicable(self, release: str) -> str:
        """The report's reason when the release is outside `needs.releases`."""
        return f"{self.name} cannot invert the {release} release"


ATTACKS: Registry[Attack] = Registry("attack")
"""Filled in `scanning/plugins.py`; `ATTACKS.create(name, budget=..., device=...)` calls `Attack.for_budget`."""
