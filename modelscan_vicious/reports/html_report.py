"""The human report: one self-contained HTML page that a deployer reads top to bottom.

Everything the page shows comes from the `ScanResult`; the view functions below turn it
into plain words and formatted numbers (one precision per kind of number, `numbers.py`),
and the Jinja2 template (autoescaped) lays it out.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from modelscan_vicious.reports import figures
from modelscan_vicious.reports.numbers import (
    EVIDENCE_DECIMALS,
    R_DECIMALS,
    SECONDS_DECIMALS,
    SSIM_DECIMALS,
    Z_DECIMALS,
    Gates,
    format_fixed,
    format_percent,
    format_probability,
    format_psnr,
    format_r,
    format_range,
    format_ssim,
    is_finite,
)
from modelscan_vicious.reports.tables import environment_view, settings_rows
from modelscan_vicious.results import ReconstructionResult, ScanResult, ViciousnessResult

TEMPLATE_NAME = "report.html.j2"

# The percentiles detectors/finetune_distance.py takes of its bootstrap (its INTERVAL);
# tests/reports/test_html_report.py checks that the two agree.
INTERVAL_PERCENTILES = (5, 95)

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
    import markupsafe

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("modelscan_vicious.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fixed=format_fixed,
        r=format_r,
        p=format_probability,
        ssim=format_ssim,
        psnr=format_psnr,
        pct=format_percent,
        ev=lambda v: format_fixed(v, EVIDENCE_DECIMALS),
        z=lambda v: format_fixed(v, Z_DECIMALS),
        sec=lambda v: format_fixed(v, SECONDS_DECIMALS),
        wrap=lambda text: markupsafe.Markup(wrap_points(str(markupsafe.escape(text)))),
    )
    return env.get_template(TEMPLATE_NAME).render(**build_context(result))


def wrap_points(escaped: str) -> str:
    """Allow a line break after "_", "." and "/" in names (already HTML-escaped), never mid-word."""
    for mark in ("_", ".", "/"):
        escaped = escaped.replace(mark, mark + "<wbr>")
    return escaped


def build_context(result: ScanResult) -> dict[str, Any]:
    """Everything the template needs, already in display form."""
    plugins = [p.to_dict() for p in result.plugins]
    gates = Gates.recorded(result)
    return {
        "title": PurePath(result.model_path).name or result.model_path,
        "model_path": result.model_path,
        "model": result.model.to_dict() if result.model else None,
        "tool_version": result.tool_version,
        "schema_version": result.schema_version,
        "verdict": verdict_view(result, gates),
        "viciousness": viciousness_view(result.viciousness, gates, result.settings),
        "reconstruction": reconstruction_view(result.reconstruction, gates),
        "mitigations": [m.to_dict() for m in result.mitigations],
        "plugins": plugins,
        "plugins_not_ok": [p for p in plugins if p["status"] not in ("ok", "not-applicable")],
        "settings": settings_rows(result.settings),
        "environment": environment_view(result.environment, result.settings),
        "timings": sorted(result.timings.items()),
        "cost": cost_view(result),
        "total_seconds": sum(v for v in result.timings.values() if is_finite(v)),
    }


REFERENCE_METHOD_WORDS = {
    "scratch": "trained from scratch for the task alone",
    "head": "the model's head (last two weight layers) re-trained for the task alone, the rest frozen",
}
CALIBRATION_WORDS = {  # (reference method, the calibration's own references)
    ("scratch", "scratch"): "P(vicious) calibrated on scans with the same method",
    ("head", "head"): "P(vicious) calibrated on head-reference scans",
    ("head", "scratch"): "P(vicious) calibrated on references trained from scratch only: never passed",
}


def cost_view(result: ScanResult) -> dict[str, Any] | None:
    """The estimate made before the heavy stages, next to what each stage took, and what the scan ran."""
    cost = result.cost
    if cost is None:
        return None
    stages = [(stage, seconds, result.timings.get(stage)) for stage, seconds in cost.estimated_seconds.items()]
    return {
        "stages": stages,
        "estimated_total": sum(cost.estimated_seconds.values()),
        "parameters": f"{cost.parameters:,}",
        "flops": f"{cost.flops_per_input:,.0f}" if cost.flops_per_input else "not countable",
        "timeout_s": cost.timeout_s,
        "method": _method_words(cost.reference_method, result),
        "reference_choice": cost.reference_choice,
        "reductions": list(cost.reductions),
    }


def _method_words(method: str, result: ScanResult) -> str:
    words = REFERENCE_METHOD_WORDS.get(method, method)
    if result.viciousness is None:
        return words
    calibrated = CALIBRATION_WORDS.get((method, result.viciousness.calibration_references))
    return f"{words} ({calibrated})" if calibrated else words


def verdict_view(result: ScanResult, gates: Gates) -> dict[str, Any]:
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
        key_figures.append(("Probability of vicious training", probability_text(vic, gates)))
    rec = result.reconstruction
    if rec is not None:
        key_figures.append(("Reconstruction risk", risk_sentence(rec, gates)))
    return {
        "status": status,
        "headline": headline,
        "explanation": EXPLANATIONS.get(status, EXPLANATIONS["error"]),
        "figures": key_figures,
        "reasons": reasons,
        "exit_code": result.verdict.exit_code,
    }


def probability_text(vic: ViciousnessResult, gates: Gates) -> str:
    """E.g. "0.91 (interval 0.81–0.96; gate 0.65)"."""
    text = format_probability(vic.probability)
    extras = []
    if vic.interval is not None:
        low, high = vic.interval
        extras.append(f"interval {format_probability(low)}–{format_probability(high)}")
    if gates.probability is not None:
        extras.append(f"gate {format_probability(gates.probability)}")
    return text + (f" ({'; '.join(extras)})" if extras else "")


def interval_text(vic: ViciousnessResult, settings: dict[str, Any]) -> str | None:
    """Where the interval comes from, with the number of references the detector actually used."""
    if vic.interval is None:
        return None
    counts = {len(e.reference_values) for e in vic.evidence}
    references = f"{counts.pop()} honest references" if len(counts) == 1 else "the honest references"
    budget = settings.get("budget")
    draws = budget.get("n_bootstrap") if isinstance(budget, dict) else None
    resamples = f"{draws} bootstrap resamples" if isinstance(draws, int) else "bootstrap resamples"
    low, high = INTERVAL_PERCENTILES
    return (
        f"The interval is the {low}th–{high}th percentile of the probability over {resamples} of the "
        f"{references} used in this scan (drawn with replacement): it says how much the answer depends "
        "on which references were trained, not how far this model is from the calibration set."
    )


def risk_sentence(rec: ReconstructionResult, gates: Gates) -> str:
    """R against its gate, what it means, and where honest reference copies land."""
    r = rec.R
    text = f"R = {format_r(r)}"
    if gates.risk is not None:
        basis = f": {rec.risk_gate_basis}" if rec.risk_gate_basis else ""
        text += f" (gate {format_r(gates.risk)}{basis})"
    if is_finite(r) and r > 1:
        text += f": reconstructions are on average {format_r(r)}× closer to the real inputs than the average input is"
    elif is_finite(r):
        text += ": reconstructions are no better than guessing the average input"
    if any(is_finite(v) for v in rec.reference_R):
        text += f"; honest reference copies reach R {format_range(rec.reference_R, R_DECIMALS)}"
    return text + " (R = 1 means no better than guessing the mean)"


def viciousness_view(vic: ViciousnessResult | None, gates: Gates, settings: dict[str, Any]) -> dict[str, Any] | None:
    """Detector figures and one evidence-table row per statistic; None if it did not run."""
    if vic is None:
        return None
    rows = []
    for item in vic.evidence:
        finite = [float(v) for v in item.reference_values if is_finite(v)]
        rows.append(
            {
                "name": item.name,
                "suspect_value": item.suspect_value,
                "reference": _summary(finite),
                "reference_list": list(item.reference_values) if len(item.reference_values) <= 5 else None,
                "z_score": item.z_score,
                "z_hot": item.z_score is not None and not math.isnan(item.z_score) and abs(item.z_score) >= 3,
                "description": item.description,
            }
        )
    return {
        "probability": probability_text(vic, gates) if vic.probability is not None else None,
        "interval_source": interval_text(vic, settings),
        "mode": vic.mode,
        "calibration": vic.calibration,
        "notes": list(vic.notes),
        "evidence": rows,
    }


def reconstruction_view(rec: ReconstructionResult | None, gates: Gates) -> dict[str, Any] | None:
    """Attack figures, example image pairs and the risk histogram; None if no attack ran."""
    if rec is None:
        return None
    marks = figures.RiskMarks(r=rec.R, gate=gates.risk, reference_r=tuple(rec.reference_R))
    histogram = figures.risk_histogram_png(rec.per_sample_risk, marks)
    finite_refs = [v for v in rec.reference_R if is_finite(v)]
    return {
        "fields": rec.to_dict(),
        "risk_sentence": risk_sentence(rec, gates),
        "gate": gates.risk,
        "reference_R": finite_refs,
        "reference_R_mean": math.fsum(finite_refs) / len(finite_refs) if finite_refs else None,
        "reference_ssim": format_range(rec.reference_ssim, SSIM_DECIMALS)
        if any(map(is_finite, rec.reference_ssim))
        else None,
        "examples": figures.example_pairs(rec.example_originals, rec.example_reconstructions),
        "histogram": figures.png_data_uri(histogram) if histogram is not None else None,
        "histogram_caption": figures.histogram_caption(marks),
    }


def _summary(finite: list[float]) -> dict[str, float] | None:
    if not finite:
        return None
    return {"min": min(finite), "mean": math.fsum(finite) / len(finite), "max": max(finite), "n": len(finite)}
