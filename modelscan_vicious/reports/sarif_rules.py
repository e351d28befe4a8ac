"""The SARIF rules modelscan-vicious reports under, and how severe each finding is.

GitHub code scanning ranks alerts by the rule's ``properties.security-severity``, a number
from 0.0 to 10.0 written as a string (9.0 and up critical, 7.0 high, 4.0 medium, 0.1 low), and
shows it only for rules tagged "security".
"""

from __future__ import annotations

import math
from typing import Any

VICIOUS_RULE = "MSV001"
RECONSTRUCTION_RULE = "MSV002"
SCAN_ERROR_RULE = "MSV003"
INCOMPLETE_CHECK_RULE = "MSV004"

VICIOUS_SEVERITY = 8.0
RECONSTRUCTION_SEVERITY_AT_GATE = 7.0  # R just at its gate: high; each 10% over the gate adds 1.0, up to 10.0
SCAN_ERROR_SEVERITY = 5.0  # nothing was concluded: the model is as unchecked as before the scan
INCOMPLETE_CHECK_SEVERITY = 3.0

RULES: list[dict[str, Any]] = [
    {
        "id": VICIOUS_RULE,
        "name": "vicious-training-likely",
        "shortDescription": {"text": "Model was likely trained jointly with a secret decoder"},
        "fullDescription": {
            "text": "The model's training fingerprints differ from honestly trained "
            "reference copies in the way joint training with an input decoder does."
        },
        "help": {"text": "Do not deploy this model where its outputs leave the user's device."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"security-severity": f"{VICIOUS_SEVERITY:.1f}", "tags": ["security", "privacy"]},
    },
    {
        "id": RECONSTRUCTION_RULE,
        "name": "reconstruction-risk",
        "shortDescription": {"text": "Model outputs let a receiver reconstruct the inputs"},
        "fullDescription": {
            "text": "A reconstruction attack rebuilt inputs from the model's released outputs with "
            "reconstruction risk R at or above the gate (R = 1: no better than the average input)."
        },
        "help": {"text": "Do not deploy, or release less (labels instead of logits) and rescan."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"security-severity": f"{RECONSTRUCTION_SEVERITY_AT_GATE:.1f}", "tags": ["security", "privacy"]},
    },
    {
        "id": SCAN_ERROR_RULE,
        "name": "scan-error",
        "shortDescription": {"text": "The model could not be scanned"},
        "fullDescription": {"text": "The scan stopped before reaching a verdict, so the model is unchecked."},
        "help": {"text": "Fix the error shown in the message and rescan before deploying."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"security-severity": f"{SCAN_ERROR_SEVERITY:.1f}", "tags": ["security"]},
    },
    {
        "id": INCOMPLETE_CHECK_RULE,
        "name": "check-not-completed",
        "shortDescription": {"text": "A check was skipped or failed, so the verdict covers less"},
        "fullDescription": {
            "text": "One attack or detector did not complete on this model; the verdict rests only "
            "on the checks that ran, and a model with an incomplete check is never reported as passed."
        },
        "help": {"text": "Read the reason in the message; fix it (or accept the gap knowingly) and rescan."},
        "defaultConfiguration": {"level": "note"},
        "properties": {"security-severity": f"{INCOMPLETE_CHECK_SEVERITY:.1f}", "tags": ["security"]},
    },
]

RULE_INDEX = {rule["id"]: index for index, rule in enumerate(RULES)}


def reconstruction_severity(r: float, gate: float) -> float:
    """Severity of R at or over its gate: 7.0 at the gate, +1.0 per 10% of the gate over it, at most 10.0."""
    if math.isnan(r) or not math.isfinite(gate) or gate <= 0:
        return RECONSTRUCTION_SEVERITY_AT_GATE
    if math.isinf(r):
        return 10.0
    over = max(r / gate - 1.0, 0.0)
    return round(min(RECONSTRUCTION_SEVERITY_AT_GATE + 10.0 * over, 10.0), 1)


def rules_for_run(reconstruction_severities: list[float]) -> list[dict[str, Any]]:
    """The rules, with the reconstruction rule as severe as the worst R over its gate in this run
    (GitHub reads severity from the rule, not from each result)."""
    rules = [dict(rule, properties=dict(rule["properties"])) for rule in RULES]
    if reconstruction_severities:
        worst = max(reconstruction_severities)
        rules[RULE_INDEX[RECONSTRUCTION_RULE]]["properties"]["security-severity"] = f"{worst:.1f}"
    return rules
