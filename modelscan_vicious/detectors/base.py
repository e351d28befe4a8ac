"""Viciousness detectors behind one small base class, found through an explicit registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from modelscan_vicious.attacks.base import AttackOutcome
from modelscan_vicious.scan.result import ViciousnessResult

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


class Detector(ABC):
    name: str = ""

    @abstractmethod
    def run(self, context: DetectorContext) -> ViciousnessResult:
        """Compare the suspect with its honest references and return a calibrated probability."""


_REGISTRY: dict[str, Callable[..., Detector]] = {}


def register_detector(name: str, factory: Callable[..., Detector]) -> None:
    _REGISTRY[name] = factory


def create_detector(name: str, **kwargs) -> Detector:
    if name not in _REGISTRY:
        raise KeyError(f"unknown detector {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def registered_detectors() -> list[str]:
    return sorted(_REGISTRY)
