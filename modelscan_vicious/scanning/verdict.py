"""From results to a verdict and exit code. Never "passed" when a check was skipped or failed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard

from modelscan_vicious.config import RELATIVE_RISK_MARGIN
from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.results import PluginOutcome, ReconstructionResult, Verdict, ViciousnessResult


def decide(
    viciousness: ViciousnessResult | None,
    reconstruction: ReconstructionResult | None,
    plugins: list[PluginOutcome],
    *,
    fail_on_probability: float,
    fail_on_risk: float | None,
    limits: Sequence[str] = (),
) -> Verdict:
    """`limits`: why this scan is weaker than the full method (a reduced budget, no auxiliary data);
    a weaker check that reaches no gate is not a pass."""
    reasons = []
    if viciousness is not None and viciousness.probability is not None:
        if viciousness.probability >= fail_on_probability:
            reasons.append(
                f"probability of vicious training {viciousness.probability:.2f} >= threshold {fail_on_probability:.2f}"
            )
    risk_gate = None
    if reconstruction is not None:
        risk_gate, basis = risk_gate_for(reconstruction.reference_R, fail_on_risk)
        if reconstruction.R >= risk_gate:
            reasons.append(f"reconstruction risk R {reconstruction.R:.3f} >= threshold {risk_gate:.3f} ({basis})")
    if reasons:
        return Verdict("failed", EXIT_RISK_FOUND, reasons)
    broken = [p for p in plugins if p.status not in ("ok", "not-applicable")]
    probability = viciousness.probability if viciousness is not None else None
    risk = reconstruction.R if reconstruction is not None else None
    # NaN compares False with every threshold: a non-finite number is a missing result, never a pass.
    if broken or not (_finite(probability) and _finite(risk) and _finite(risk_gate)):
        why = [f"{p.kind} {p.name} {p.status}: {p.reason}" for p in broken] or ["a check did not produce a result"]
        return Verdict("error", EXIT_SCAN_ERROR, why)
    if limits:
        return Verdict("error", EXIT_SCAN_ERROR, [f"no gate reached, but not a full check: {why}" for why in limits])
    return Verdict(
        "passed",
        EXIT_PASSED,
        [
            f"probability of vicious training {probability:.2f} < {fail_on_probability:.2f}",
            f"reconstruction risk R {risk:.3f} < {risk_gate:.3f}",
        ],
    )


def risk_gate_for(reference_R: Sequence[float], fail_on_risk: float | None) -> tuple[float, str]:
    """The R gate and what it rests on: the absolute --fail-on-risk, or the highest R of the scan's
    own honest references plus RELATIVE_RISK_MARGIN (no finite reference R: no relative gate, inf)."""
    if fail_on_risk is not None:
        return fail_on_risk, "absolute, --fail-on-risk"
    finite = [r for r in reference_R if math.isfinite(r)]
    if not finite:
        return math.inf, "relative, but no honest reference R"
    highest = max(finite)
    return highest + RELATIVE_RISK_MARGIN, f"honest references' highest R {highest:.3f} + {RELATIVE_RISK_MARGIN:.2f}"


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def error_verdict(message: str) -> Verdict:
    return Verdict("error", EXIT_SCAN_ERROR, [message])
