"""How every report shows its numbers, and which gates a result was judged against.

One precision per kind of number, used wherever that kind appears (banner, tables, figure
captions, SARIF messages), so that a value and the gate it is compared with always read alike:
R 1.205 against a gate of 1.200, never "1.2" next to "1.200".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from modelscan_vicious.config import DEFAULT_FAIL_ON_PROBABILITY
from modelscan_vicious.results import ScanResult

R_DECIMALS = 3  # as the verdict's reasons write R and its gate (scanning/verdict.py)
PROBABILITY_DECIMALS = 2  # as the verdict's reasons and the CLI summary write P(vicious)
SSIM_DECIMALS = 3
PSNR_DECIMALS = 2
EVIDENCE_DECIMALS = 3
Z_DECIMALS = 2
SECONDS_DECIMALS = 2
PERCENT_DECIMALS = 1


def is_finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_fixed(value: Any, decimals: int) -> str:
    """A number with exactly ``decimals`` decimals and thousands separators; "—" when undefined."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:,.{decimals}f}"


def format_r(value: Any) -> str:
    return format_fixed(value, R_DECIMALS)


def format_probability(value: Any) -> str:
    return format_fixed(value, PROBABILITY_DECIMALS)


def format_ssim(value: Any) -> str:
    return format_fixed(value, SSIM_DECIMALS)


def format_psnr(value: Any) -> str:
    return format_fixed(value, PSNR_DECIMALS)


def format_percent(value: Any) -> str:
    """A fraction (accuracy) as a percentage with one decimal: 0.953 -> "95.3%"."""
    return format_fixed(100.0 * value, PERCENT_DECIMALS) + "%" if is_finite(value) else "—"


def format_range(values: list[float], decimals: int) -> str:
    """ "low–high" of the finite values at one precision, the single value when they coincide."""
    finite = [float(v) for v in values if is_finite(v)]
    if not finite:
        return "—"
    low, high = format_fixed(min(finite), decimals), format_fixed(max(finite), decimals)
    return low if low == high else f"{low}–{high}"


@dataclass(frozen=True)
class Gates:
    """The thresholds a scan's verdict compared P(vicious) and R with."""

    probability: float | None
    risk: float | None

    @classmethod
    def recorded(cls, result: ScanResult) -> Gates:
        """The gates the result records in ``settings.thresholds``; None where it does not."""
        thresholds = result.settings.get("thresholds")
        if not isinstance(thresholds, dict):
            thresholds = {}
        probability, risk = thresholds.get("fail_on_probability"), thresholds.get("fail_on_risk")
        rec = result.reconstruction
        if rec is not None and is_finite(rec.risk_gate):  # the gate the verdict used (relative by default)
            risk = rec.risk_gate
        return cls(probability if is_finite(probability) else None, risk if is_finite(risk) else None)

    def or_defaults(self) -> Gates:
        """Unrecorded gates replaced by the CLI's defaults (a result built by hand may lack them)."""
        return Gates(
            self.probability if self.probability is not None else DEFAULT_FAIL_ON_PROBABILITY,
            self.risk,  # no recorded R gate: none shown (the default gate is relative to the references)
        )


def tripped_gates(result: ScanResult) -> tuple[bool, bool]:
    """(probability gate reached, risk gate reached), compared as scanning/verdict.py compares them."""
    gates = Gates.recorded(result).or_defaults()
    vic, rec = result.viciousness, result.reconstruction
    probability = vic.probability if vic is not None else None
    vicious = probability is not None and gates.probability is not None and probability >= gates.probability
    leaky = rec is not None and gates.risk is not None and rec.R >= gates.risk
    return vicious, leaky
