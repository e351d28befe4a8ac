"""Reconstruction attacks behind one small base class, found through an explicit registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# A black box over image-space inputs (N, C, H, W) in [0, 1] -> released decoder features (N, D).
FeatureOracle = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AttackData:
    train: np.ndarray  # attacker's inputs, image space
    eval: np.ndarray  # held-out inputs the attack never trains on
    covariance_samples: np.ndarray  # inputs for the data covariance of R
    description: str  # what the attacker's data is, for the report
    lower_bound: bool  # True when the attacker's data is weaker than a real server's


@dataclass(frozen=True)
class AttackOutcome:
    reconstructions: np.ndarray  # of AttackData.eval, image space
    R: float
    psnr: float
    ssim: float
    per_sample_risk: np.ndarray
    prototype_ssim: float  # SSIM of the predicted-class mean image: what the label alone gives


class Attack(ABC):
    name: str = ""
    needs_trainable: bool = False

    @abstractmethod
    def run(self, oracle: FeatureOracle, data: AttackData, *, seed: int) -> AttackOutcome:
        """Attack one model (given as a feature oracle) and score it on data.eval."""


_REGISTRY: dict[str, Callable[..., Attack]] = {}


def register_attack(name: str, factory: Callable[..., Attack]) -> None:
    _REGISTRY[name] = factory


def create_attack(name: str, **kwargs) -> Attack:
    if name not in _REGISTRY:
        raise KeyError(f"unknown attack {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def registered_attacks() -> list[str]:
    return sorted(_REGISTRY)
