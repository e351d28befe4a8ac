"""The human report: one self-contained HTML page that a deployer reads top to bottom.

Everything the page shows comes from the `ScanResult`; the view functions below turn it
into plain words and formatted numbers, and the Jinja2 template (autoescaped) lays it out.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, TypeGuard

from modelscan_vicious.reports import figures
from modelscan_vicious.scan.result import ReconstructionResult, ScanResult, ViciousnessResult

TEMPLATE_NAME = "report.html.j2"

HEADLINES = {
    "failed": "Do not deploy: this model's outputs let whoever receives them reconstruct the inputs",
    "passed": "No sign of vicious training found",
}

EXPLANATIONS = {
    "failed": "A server receiving this model's outputs can rebuild the private inputs "
    "users send it. The figures below show how well.",
    "passed": "The checks below found nothing distinguishing this model from honestly "
    "trained ones. This is evidence, not proof: it covers only the checks that ran.",
    "error": "No conclusion could be drawn. Do not treat this model as checked.",
}


def render_html(result: ScanResult) -> str:
    """Render one scan result as a single HTML file with inline CSS and embedded images."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("modelscan_vicious.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["span"] = format_span
    return env.get_template(TEMPLATE_NAME).render(**build_context(result))


def build_context(result: ScanResult) -> dict[str, Any]:
    """Everything the template needs, already in display form."""
    plugins = [p.to_dict() for p in result.plugins]
    return {
        "title": PurePath(result.model_path).name or result.model_path,
        "model_path": result.model_path,
        "model": result.model.to_dict() if result.model else None,
        "tool_version": result.tool_version,
        "schema_version": result.schema_version,
        "verdict": verdict_view(result),
        "viciousness": viciousness_view(result.viciousness),
        "reconstruction": reconstruction_view(result.reconstruction),
        "mitigations": [m.to_dict() for m in result.mitigations],
        "plugins": plugins,
        "plugins_not_ok": [p for p in plugins if p["status"] != "ok"],
        "settings": flatten(result.settings),
        "environment": flatten(result.environment),
        "timings": sorted(result.timings.items()),
        "total_seconds": sum(v for v in result.timings.values() if _finite(v)),
    }


def verdict_view(result: ScanResult) -> dict[str, Any]:
    """Headline, colour and key figures for the banner at the top of the page."""
    status = result.verdict.status
    reasons = list(result.verdict.reasons)
    if status in HEADLINES:
        headline = HEADLINES[status]
    elif reasons:  # the first reason becomes the headline, so it is not repeated below
        headline, reasons = "Scan error: " + reasons[0], reasons[1:]
    else:
        headline = "Scan error: the scan could not finish"
    key_figures = []
    vic = result.viciousness
    if vic is not None and vic.probability is not None:
        key_figures.append(("Probability of vicious training", probability_text(vic)))
    rec = result.reconstruction
    if rec is not None:
        key_figures.append(("Reconstruction risk", risk_sentence(rec)))
    return {
        "status": status,
        "headline": headline,
        "explanation": EXPLANATIONS.get(status, EXPLANATIONS["error"]),
        "figures": key_figures,
        "reasons": reasons,
        "exit_code": result.verdict.exit_code,
    }


def probability_text(vic: ViciousnessResult) -> str:
    """E.g. "97% (interval 91%–99%)"."""
    text = format_percent(vic.probability)
    if vic.interval is not None:
        low, high = vic.interval
        text += f" (interval {format_percent(low)}–{format_percent(high)})"
    return text


def risk_sentence(rec: ReconstructionResult) -> str:
    """R with what it means, and where honest reference copies land."""
    r = rec.R
    if not _finite(r):
        text = f"R = {format_number(r)}"
    elif r > 1:
        text = (
            f"R = {format_number(r)}: reconstructions are on average {format_number(r)}× "
            "closer to the real inputs than the average input is"
        )
    else:
        text = f"R = {format_number(r)}: reconstructions are no better than guessing the average input"
    reference = summarize(rec.reference_R)
    if reference is not None:
        text += f"; honest reference copies reach R {format_span(reference)}"
    return text + " (R = 1 means no better than guessing the mean)"


def viciousness_view(vic: ViciousnessResult | None) -> dict[str, Any] | None:
    """Detector figures and one evidence-table row per statistic; None if it did not run."""
    if vic is None:
        return None
    rows = []
    for item in vic.evidence:
        summary = summarize(item.reference_values)
        rows.append(
            {
                "name": item.name,
                "suspect_value": item.suspect_value,
                "reference": summary,
                "reference_list": list(item.reference_values) if len(item.reference_values) <= 5 else None,
                "z_score": item.z_score,
                "z_hot": item.z_score is not None and not math.isnan(item.z_score) and abs(item.z_score) >= 3,
                "description": item.description,
            }
        )
    return {
        "probability": probability_text(vic) if vic.probability is not None else None,
        "mode": vic.mode,
        "calibration": vic.calibration,
        "notes": list(vic.notes),
        "evidence": rows,
    }


def reconstruction_view(rec: ReconstructionResult | None) -> dict[str, Any] | None:
    """Attack figures, example image pairs and the risk histogram; None if no attack ran."""
    if rec is None:
        return None
    histogram = figures.risk_histogram_png(rec.per_sample_risk)
    return {
        "fields": rec.to_dict(),
        "risk_sentence": risk_sentence(rec),
        "reference_R": summarize(rec.reference_R),
        "reference_ssim": summarize(rec.reference_ssim),
        "examples": figures.example_pairs(rec.example_originals, rec.example_reconstructions),
        "histogram": figures.png_data_uri(histogram) if histogram is not None else None,
    }


def summarize(values: Sequence[float | None]) -> dict[str, float] | None:
    """min / mean / max of the finite values, or None when there are none."""
    finite = [float(v) for v in values if _finite(v)]
    if not finite:
        return None
    return {"min": min(finite), "mean": statistics.fmean(finite), "max": max(finite), "n": len(finite)}


def flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as sorted ("a.b", "value") rows; lists and odd values shown as JSON."""
    rows: list[tuple[str, str]] = []
    for key in sorted(mapping, key=str):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(flatten(value, prefix=name + "."))
        elif isinstance(value, str):
            rows.append((name, value))
        elif isinstance(value, float):
            rows.append((name, format_number(value)))
        else:
            rows.append((name, json.dumps(value, default=str, sort_keys=True)))
    return rows


def format_span(summary: dict[str, float] | None) -> str:
    """ "min–max" of a `summarize` result, or the single value when they coincide."""
    if summary is None:
        return "—"
    low, high = format_number(summary["min"]), format_number(summary["max"])
    return low if low == high else f"{low}–{high}"


def format_number(value: Any, digits: int = 3) -> str:
    """Compact display: 3 significant digits, thousands kept whole, "—" when undefined."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def format_percent(value: float | None) -> str:
    """A probability as a percentage, keeping one decimal near 0% and 100%."""
    if not _finite(value):
        return "—"
    percent = 100.0 * value
    if percent in (0.0, 100.0) or 1.0 <= percent <= 99.0:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
