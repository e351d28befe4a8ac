"""SARIF 2.1.0 for code-scanning dashboards: one run, one result per model that did not pass."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from modelscan_vicious import __version__
from modelscan_vicious.reports.json_report import to_json_safe
from modelscan_vicious.scan.result import ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "modelscan-vicious"

VICIOUS_RULE = "MSV001"
RECONSTRUCTION_RULE = "MSV002"
SCAN_ERROR_RULE = "MSV003"

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
    },
    {
        "id": RECONSTRUCTION_RULE,
        "name": "reconstruction-risk",
        "shortDescription": {"text": "Model outputs let a receiver reconstruct the inputs"},
        "fullDescription": {
            "text": "A reconstruction attack rebuilt inputs from the model's released "
            "outputs measurably better than guessing the average input (R > 1)."
        },
        "help": {"text": "Do not deploy, or release less (labels instead of logits) and rescan."},
        "defaultConfiguration": {"level": "error"},
    },
    {
        "id": SCAN_ERROR_RULE,
        "name": "scan-error",
        "shortDescription": {"text": "The model could not be scanned"},
        "fullDescription": {"text": "The scan stopped before reaching a verdict, so the model is unchecked."},
        "help": {"text": "Fix the error shown in the message and rescan before deploying."},
        "defaultConfiguration": {"level": "warning"},
    },
]


def render_sarif(results: Sequence[ScanResult]) -> str:
    """One SARIF log over all scanned models; passed models appear only in ``artifacts``."""
    artifacts = [_artifact(result) for result in results]
    findings = [_finding(result, index) for index, result in enumerate(results) if result.verdict.status != "passed"]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": _tool_version(results),
                        "rules": RULES,
                    }
                },
                "artifacts": artifacts,
                "results": findings,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(to_json_safe(log), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def path_to_uri(path: str) -> str:
    """A model path as a SARIF URI reference: relative paths stay relative, absolute ones
    become ``file://`` URIs; characters URIs cannot hold are percent-encoded."""
    if PureWindowsPath(path).drive:
        return PureWindowsPath(path).as_uri()
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return posix.as_uri()
    return quote(str(posix), safe="/")


def rule_for(result: ScanResult) -> str:
    """Which rule a non-passing verdict falls under."""
    if result.verdict.status != "failed":
        return SCAN_ERROR_RULE
    vic = result.viciousness
    if vic is not None and vic.probability is not None and vic.probability >= 0.5:
        return VICIOUS_RULE
    return RECONSTRUCTION_RULE


def _finding(result: ScanResult, index: int) -> dict[str, Any]:
    rule_id = rule_for(result)
    finding: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": [rule["id"] for rule in RULES].index(rule_id),
        "level": "error" if result.verdict.status == "failed" else "warning",
        "message": {"text": _message(result)},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": path_to_uri(result.model_path), "index": index}}}
        ],
        "properties": _properties(result),
    }
    if result.model is not None:
        finding["partialFingerprints"] = {"modelSha256/v1": result.model.sha256}
    return finding


def _message(result: ScanResult) -> str:
    if result.verdict.status == "failed":
        head = "Do not deploy: this model's outputs let whoever receives them reconstruct the inputs."
    else:
        head = "Scan error: the model could not be checked."
    reasons = " ".join(r.rstrip(".") + "." for r in result.verdict.reasons)
    return f"{head} {reasons}".strip()


def _properties(result: ScanResult) -> dict[str, Any]:
    props: dict[str, Any] = {"verdict": result.verdict.status, "exitCode": result.verdict.exit_code}
    if result.viciousness is not None:
        props["viciousProbability"] = result.viciousness.probability
    if result.reconstruction is not None:
        props["reconstructionRisk"] = result.reconstruction.R
        props["release"] = result.reconstruction.release
    skipped = [p.name for p in result.plugins if p.status != "ok"]
    if skipped:
        props["incompleteChecks"] = skipped
    return props


def _artifact(result: ScanResult) -> dict[str, Any]:
    artifact: dict[str, Any] = {
        "location": {"uri": path_to_uri(result.model_path)},
        "roles": ["analysisTarget"],
        "properties": {"verdict": result.verdict.status},
    }
    if result.model is not None:
        artifact["hashes"] = {"sha-256": result.model.sha256}
    return artifact


def _tool_version(results: Sequence[ScanResult]) -> str:
    for result in results:
        if result.tool_version:
            return result.tool_version
    return __version__
