"""Pictures for the HTML report, as base64 PNG data URIs so the file stays self-contained."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from modelscan_vicious.reports.numbers import R_DECIMALS, format_r, format_range, is_finite

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MIN_IMAGE_SIDE = 96
"""Example images are upscaled (nearest neighbour) until their longer side is at least this."""

MAX_EXAMPLES = 8


def png_data_uri(png: bytes) -> str:
    """Wrap PNG bytes as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def example_pairs(
    originals: np.ndarray | None,
    reconstructions: np.ndarray | None,
    *,
    max_examples: int = MAX_EXAMPLES,
) -> list[tuple[str, str]]:
    """(original, reconstruction) data-URI pairs from (n, C, H, W) arrays in [0, 1].

    Returns an empty list when either array is missing or the two cannot be paired.
    """
    if originals is None or reconstructions is None:
        return []
    a, b = np.asarray(originals), np.asarray(reconstructions)
    if a.ndim != 4 or b.ndim != 4 or a.shape[1:] != b.shape[1:]:
        return []
    n = min(len(a), len(b), max_examples)
    return [(png_data_uri(image_png(a[i])), png_data_uri(image_png(b[i]))) for i in range(n)]


def image_png(chw: np.ndarray) -> bytes:
    """One (C, H, W) image in [0, 1] as PNG bytes, upscaled so small images stay visible."""
    from PIL import Image

    pixels = np.nan_to_num(np.asarray(chw, dtype=np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    pixels = np.clip(pixels, 0.0, 1.0)
    if pixels.shape[0] == 3:
        hwc = np.transpose(pixels, (1, 2, 0))
    else:  # grey-scale, or a channel count no screen can show: average the channels
        hwc = pixels.mean(axis=0)
    image = Image.fromarray(np.round(hwc * 255).astype(np.uint8))
    height, width = pixels.shape[1:]
    scale = max(1, math.ceil(MIN_IMAGE_SIDE / max(height, width, 1)))
    if scale > 1:
        image = image.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class RiskMarks:
    """What the per-sample risk histogram marks: this model's R, its gate, the honest references' R."""

    r: float | None = None
    gate: float | None = None
    reference_r: tuple[float, ...] = ()

    @property
    def references(self) -> list[float]:
        return [float(v) for v in self.reference_r if is_finite(v)]


@dataclass(frozen=True)
class RiskAxis:
    low: float
    high: float
    log_scale: bool


def risk_axis(values: np.ndarray, marks: RiskMarks) -> RiskAxis:
    """x limits that fit the per-sample values and every mark, with a little margin.

    Nothing forces 0 or 1 into view: the axis shows where this scan's numbers lie. It turns
    logarithmic when they span more than two orders of magnitude (a leaking model can reach
    per-sample risks in the thousands).
    """
    points = [float(v) for v in values] + marks.references
    points += [v for v in (marks.r, marks.gate) if is_finite(v)]
    low, high = min(points), max(points)
    if low > 0 and high / low > 100:
        return RiskAxis(low / 1.25, high * 1.25, True)
    margin = 0.05 * (high - low) if high > low else max(0.05 * abs(high), 0.05)
    return RiskAxis(low - margin, high + margin, False)


def risk_histogram_png(per_sample_risk: Sequence[float | None], marks: RiskMarks | None = None) -> bytes | None:
    """The per-sample risk histogram as PNG bytes, or None if there is no finite value."""
    figure = risk_histogram_figure(per_sample_risk, marks or RiskMarks())
    if figure is None:
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def risk_histogram_figure(per_sample_risk: Sequence[float | None], marks: RiskMarks) -> Figure | None:
    """Histogram of per-sample reconstruction risk with this model's R, the gate and the honest
    references' range marked; None if there is no finite value."""
    values = np.array([v for v in per_sample_risk if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axis = risk_axis(values, marks)
    if axis.log_scale:
        bins = np.geomspace(axis.low, axis.high, 40)
        axes.set_xscale("log")
    else:
        bins = np.linspace(axis.low, axis.high, 40)
    references = marks.references
    if references:
        label = f"honest references: R {format_range(references, R_DECIMALS)} (n={len(references)})"
        if min(references) < max(references):
            axes.axvspan(min(references), max(references), color="#2e7d32", alpha=0.3, zorder=3, label=label)
        else:
            axes.axvline(references[0], color="#2e7d32", linewidth=2.0, zorder=3, label=label)
    # matplotlib takes an array of bin edges; its stubs only name Sequence[float].
    axes.hist(values, bins=cast("Sequence[float]", bins), color="#4a6fa5", edgecolor="white", linewidth=0.5)
    if is_finite(marks.gate):
        axes.axvline(marks.gate, color="#c0392b", linestyle="--", linewidth=1.5, label=f"gate {format_r(marks.gate)}")
    if is_finite(marks.r):
        axes.axvline(marks.r, color="#1d2433", linewidth=1.8, label=f"this model: R {format_r(marks.r)} (mean)")
    axes.set_xlim(axis.low, axis.high)
    axes.set_xlabel("per-sample reconstruction risk" + (" (log scale)" if axis.log_scale else ""))
    axes.set_ylabel("inputs")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper right", frameon=False, fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def histogram_caption(marks: RiskMarks) -> str:
    """What the histogram shows, in terms of what this scan measured (no general claims)."""
    parts = ["Each bar counts evaluation inputs by their per-sample reconstruction risk."]
    if is_finite(marks.r):
        parts.append(f"This model's R ({format_r(marks.r)}, solid line) is their mean.")
    if is_finite(marks.gate):
        parts.append(f"The dashed line is the gate, R = {format_r(marks.gate)}.")
    references = marks.references
    if references:
        noun = "reference" if len(references) == 1 else "references"
        parts.append(
            f"The green band is R of the same attack against this scan's {len(references)} honest {noun} "
            f"({format_range(references, R_DECIMALS)})."
        )
    else:
        parts.append("No honest reference was attacked in this scan, so the page has no honest baseline.")
    return " ".join(parts)
