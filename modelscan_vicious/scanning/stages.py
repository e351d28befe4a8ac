"""The scan's stages: their names, defined once, and the typed values that pass between them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from modelscan_vicious.attacks.base import AttackOutcome
    from modelscan_vicious.data.labelled_csv import LabelledSet
    from modelscan_vicious.loading.base import SuspectModel
    from modelscan_vicious.results import ViciousnessResult
    from modelscan_vicious.scanning.attack_data import PreparedData

LOAD = "load"
ESTIMATE = "estimate"
REFERENCES = "references"
BLACK_BOX_ATTACKS = "attack"
DETECTORS = "detector"
WHITE_BOX_ATTACKS = "white-box attack"
MITIGATIONS = "mitigations"
STAGES = (LOAD, ESTIMATE, REFERENCES, BLACK_BOX_ATTACKS, DETECTORS, WHITE_BOX_ATTACKS, MITIGATIONS)
"""In the order they run; the keys of the report's `timings`."""

StageCallback = Callable[[str], None]  # told each stage's name as it starts (progress display)
# The cost estimate travels on the same channel (the contained worker's stdout lines) as one message.
ESTIMATE_PREFIX = "estimate "


def estimate_message(seconds: dict[str, float]) -> str:
    return ESTIMATE_PREFIX + json.dumps(seconds, sort_keys=True)


def read_estimate(message: str) -> dict[str, float] | None:
    """The per-stage seconds of an estimate message; None for a stage name or a malformed message."""
    if not message.startswith(ESTIMATE_PREFIX):
        return None
    try:
        seconds = json.loads(message[len(ESTIMATE_PREFIX) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(seconds, dict) or not all(isinstance(v, (int, float)) for v in seconds.values()):
        return None
    return {str(k): float(v) for k, v in seconds.items()}


TrainableFactory = Callable[[], "nn.Module"]  # a fresh trainable copy of the suspect over image-space inputs


@dataclass(frozen=True)
class LoadedInputs:
    """After "load": the suspect, the user's data, and how the attacker's data was carved from it."""

    model: SuspectModel
    labelled: LabelledSet
    prepared: PreparedData
    predict: Callable  # the suspect over image-space inputs: the user's input scaling applied first
    trainable: TrainableFactory | None  # None: no trainable copy, black-box evidence only
    why_black_box: str = ""


@dataclass(frozen=True)
class Reference:
    """One honest reference copy, trained by the scan."""

    module: nn.Module
    output_kind: str  # "logits" | "probabilities"


@dataclass(frozen=True)
class ReferenceSet:
    """After "references": the honest copies and the report's notes on how they were trained."""

    references: list[Reference]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReferenceAttack:
    """The reference attack's outcomes: the suspect's full and released outputs, and every reference's."""

    name: str
    suspect_full: AttackOutcome
    suspect_released: AttackOutcome
    references_full: list[AttackOutcome]
    references_released: list[AttackOutcome]


@dataclass(frozen=True)
class AttackResults:
    """After the attack stages: the reference attack (None if it failed) and every other attack's outcome
    on the suspect's released outputs, in registration order."""

    reference: ReferenceAttack | None
    others: list[tuple[str, AttackOutcome]] = field(default_factory=list)


@dataclass(frozen=True)
class Detection:
    """After "detector": the report's viciousness result (None when no detector gave one)."""

    viciousness: ViciousnessResult | None
