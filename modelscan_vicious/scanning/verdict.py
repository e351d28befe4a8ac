"""From results to a verdict and exit code. Never "passed" when a check was skipped or failed."""

from __future__ import annotations

import math
from typing import TypeGuard

from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.results import PluginOutcome, ReconstructionResult, Verdict, ViciousnessResult


def decide(
    viciousness: ViciousnessResult | None,
    reconstruction: ReconstructionResult | None,
    plugins: list[PluginOutcome],
    *,
    fail_on_probability: float,
    fail_on_risk: float,
) -> Verdict:
    reasons = []
    if viciousness is not None and viciousness.probability is not None:
        if viciousness.probability >= fail_on_probability:
            reasons.append(
                f"probability of vicious training {viciousness.probability:.2f} >= threshold {fail_on_probability:.2f}"
            )
    if reconstruction is not None and reconstruction.R >= fail_on_risk:
        reasons.append(f"reconstruction risk R {reconstruction.R:.3f} >= threshold {fail_on_risk:.3f}")
    if reasons:
        return Verdict("failed", EXIT_RISK_FOUND, reasons)
    broken = [p for p in plugins if p.status not in ("ok", "not-applicable")]
    probability = viciousness.probability if viciousness is not None else None
    risk = reconstruction.R if reconstruction is not None else None
    # NaN compares False with every threshold: a non-finite number is a missing result, never a pass.
    if broken or not (_finite(probability) and _finite(risk)):
        why = [f"{p.kind} {p.name} {p.status}: {p.reason}" for p in broken] or ["a check did not produce a result"]
        return Verdict("error", EXIT_SCAN_ERROR, why)
    return Verdict(
        "passed",
        EXIT_PASSED,
        [
            f"probability of vicious training {probability:.2f} < {fail_on_probability:.2f}",
            f"reconstruction risk R {risk:.3f} < {fail_on_risk:.3f}",
        ],
    )


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def error_verdict(message: str) -> Verdict:
    return Verdict("error", EXIT_SCAN_ERROR, [message])
