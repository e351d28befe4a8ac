"""SARIF 2.1.0 for code-scanning dashboards: one run over all scanned models.

Each model that did not pass gets one result per gate it reached (P(vicious), R), one for a scan
error, and one note per check that was skipped or failed: an incomplete scan is never a silent
pass. Every model is listed as an artifact; the run's ``invocations`` say whether the scan
itself succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from modelscan_vicious import __version__
from modelscan_vicious.errors import EXIT_NOTHING_SCANNED, EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.reports.json_report import to_json_safe
from modelscan_vicious.reports.numbers import (
    R_DECIMALS,
    Gates,
    format_probability,
    format_r,
    format_range,
    is_finite,
    tripped_gates,
)
from modelscan_vicious.reports.sarif_rules import (
    INCOMPLETE_CHECK_RULE,
    INCOMPLETE_CHECK_SEVERITY,
    RECONSTRUCTION_RULE,
    RECONSTRUCTION_SEVERITY_AT_GATE,
    RULE_INDEX,
    RULES,
    SCAN_ERROR_RULE,
    SCAN_ERROR_SEVERITY,
    VICIOUS_RULE,
    VICIOUS_SEVERITY,
    reconstruction_severity,
    rules_for_run,
)
from modelscan_vicious.results import ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "modelscan-vicious"
INCOMPLETE_STATUSES = ("skipped", "failed")  # "not-applicable" is by design (scanning/verdict.py)
EXIT_CODE_DESCRIPTIONS = {
    EXIT_PASSED: "passed",
    EXIT_RISK_FOUND: "risk found",
    EXIT_SCAN_ERROR: "scan error",
    EXIT_NOTHING_SCANNED: "nothing scanned",
}

__all__ = ["RULES", "path_to_uri", "render_sarif", "findings_for"]


def render_sarif(
    results: Sequence[ScanResult],
    *,
    command_line: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    exit_code: int | None = None,
) -> str:
    """One SARIF log over all scanned models; passed models appear only in ``artifacts``.

    The caller passes what it knows of the invocation (command line, wall-clock start and end,
    the process's exit code when a model left no result, e.g. after ``--timeout``); what it does
    not know is left out or derived from the results, never guessed.
    """
    findings = [finding for index, result in enumerate(results) for finding in findings_for(result, index)]
    severities = [f["properties"]["security-severity"] for f in findings if f["ruleId"] == RECONSTRUCTION_RULE]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": _tool_version(results),
                        "rules": rules_for_run([float(s) for s in severities]),
                    }
                },
                "invocations": [_invocation(results, command_line, start_time, end_time, exit_code)],
                "artifacts": [_artifact(result) for result in results],
                "results": findings,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(to_json_safe(log), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def findings_for(result: ScanResult, index: int) -> list[dict[str, Any]]:
    """SARIF results for one model: one per gate reached, one for a scan error, one note per
    check that did not complete."""
    findings = []
    gates = Gates.recorded(result).or_defaults()
    vicious, leaky = tripped_gates(result)
    if result.verdict.status == "failed" and vicious and result.viciousness is not None:
        vic = result.viciousness
        text = (
            "Do not deploy: this model was likely trained jointly with a secret decoder. "
            f"P(vicious) {format_probability(vic.probability)} >= gate {format_probability(gates.probability)}"
        )
        if vic.interval is not None:
            text += f" (interval {format_probability(vic.interval[0])}–{format_probability(vic.interval[1])})"
        findings.append(_finding(result, index, VICIOUS_RULE, "error", text + ".", VICIOUS_SEVERITY))
    if result.verdict.status == "failed" and leaky and result.reconstruction is not None:
        rec = result.reconstruction
        text = (
            "Do not deploy: this model's outputs let whoever receives them reconstruct the inputs. "
            f"R {format_r(rec.R)} >= gate {format_r(gates.risk)} ({rec.release} released)"
        )
        if any(is_finite(v) for v in rec.reference_R):
            text += f"; honest references of its architecture: R {format_range(rec.reference_R, R_DECIMALS)}"
        severity = reconstruction_severity(rec.R, gates.risk or 0.0)
        findings.append(_finding(result, index, RECONSTRUCTION_RULE, "error", text + ".", severity))
    if result.verdict.status == "failed" and not findings:  # a gate this module does not know of
        text = "Do not deploy: " + _reasons(result)
        findings.append(_finding(result, index, RECONSTRUCTION_RULE, "error", text, RECONSTRUCTION_SEVERITY_AT_GATE))
    if result.verdict.status not in ("failed", "passed"):
        text = f"Scan error: the model could not be checked. {_reasons(result)}".strip()
        findings.append(_finding(result, index, SCAN_ERROR_RULE, "warning", text, SCAN_ERROR_SEVERITY))
    for plugin in result.plugins:
        if plugin.status in INCOMPLETE_STATUSES:
            text = (
                f"Check {plugin.name} ({plugin.kind}) {plugin.status}: {plugin.reason or 'no reason recorded'}. "
                "The verdict covers only the checks that ran."
            )
            finding = _finding(result, index, INCOMPLETE_CHECK_RULE, "note", text, INCOMPLETE_CHECK_SEVERITY)
            finding.setdefault("partialFingerprints", {})["check/v1"] = plugin.name
            findings.append(finding)
    return findings


def path_to_uri(path: str) -> str:
    """A model path as a SARIF URI reference: relative paths stay relative, absolute ones
    become ``file://`` URIs; characters URIs cannot hold are percent-encoded."""
    if PureWindowsPath(path).drive:
        return PureWindowsPath(path).as_uri()
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return posix.as_uri()
    return quote(str(posix), safe="/")


def _finding(result: ScanResult, index: int, rule_id: str, level: str, text: str, severity: float) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": RULE_INDEX[rule_id],
        "level": level,
        "message": {"text": text},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": path_to_uri(result.model_path), "index": index}}}
        ],
        "properties": {**_properties(result), "security-severity": f"{severity:.1f}"},
    }
    if result.model is not None:
        finding["partialFingerprints"] = {"modelSha256/v1": result.model.sha256}
    return finding


def _reasons(result: ScanResult) -> str:
    return " ".join(r.rstrip(".") + "." for r in result.verdict.reasons)


def _properties(result: ScanResult) -> dict[str, Any]:
    props: dict[str, Any] = {"verdict": result.verdict.status, "exitCode": result.verdict.exit_code}
    if result.viciousness is not None:
        props["viciousProbability"] = result.viciousness.probability
    if result.reconstruction is not None:
        props["reconstructionRisk"] = result.reconstruction.R
        props["release"] = result.reconstruction.release
    skipped = [p.name for p in result.plugins if p.status in INCOMPLETE_STATUSES]
    if skipped:
        props["incompleteChecks"] = skipped
    return props


def _invocation(
    results: Sequence[ScanResult],
    command_line: str | None,
    start: datetime | None,
    end: datetime | None,
    exit_code: int | None,
) -> dict[str, Any]:
    """The scan as one tool execution: successful when every model reached a verdict (passed or
    failed); without the caller's exit code, the worst model's, as the CLI returns it."""
    errors = [r for r in results if r.verdict.status not in ("passed", "failed")]
    if exit_code is None:
        exit_code = max((r.verdict.exit_code for r in results), default=EXIT_NOTHING_SCANNED)
    invocation: dict[str, Any] = {
        "executionSuccessful": bool(results) and not errors and exit_code in (EXIT_PASSED, EXIT_RISK_FOUND),
        "exitCode": exit_code,
    }
    if exit_code in EXIT_CODE_DESCRIPTIONS:
        invocation["exitCodeDescription"] = EXIT_CODE_DESCRIPTIONS[exit_code]
    if command_line:
        invocation["commandLine"] = command_line
    if start is not None:
        invocation["startTimeUtc"] = _utc(start)
    if end is not None:
        invocation["endTimeUtc"] = _utc(end)
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{r.model_path}: {_reasons(r) or 'the scan could not finish.'}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path_to_uri(r.model_path)}}}],
        }
        for r in errors
    ]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


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
