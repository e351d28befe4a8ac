"""Pictures for the HTML report, as base64 PNG data URIs so the file stays self-contained."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import cast

import numpy as np

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


def risk_histogram_png(per_sample_risk: Sequence[float | None]) -> bytes | None:
    """Histogram of per-sample reconstruction risk with a line at R = 1, or None if no data.

    The x axis turns logarithmic when the values span more than two orders of magnitude,
    since a leaking model can reach per-sample risks in the thousands.
    """
    values = np.array([v for v in per_sample_risk if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    low, high = float(values.min()), float(values.max())
    log_scale = low > 0 and high / low > 100
    if log_scale:
        bins = np.geomspace(min(low, 0.5), max(high, 2.0), 40)
        axes.set_xscale("log")
    else:
        bins = np.linspace(min(low, 0.0), max(high, 1.5), 40)
    # matplotlib takes an array of bin edges; its stubs only name Sequence[float].
    axes.hist(values, bins=cast("Sequence[float]", bins), color="#4a6fa5", edgecolor="white", linewidth=0.5)
    axes.axvline(1.0, color="#c0392b", linestyle="--", linewidth=1.5, label="R = 1: no better than guessing the mean")
    axes.set_xlabel("per-sample reconstruction risk" + (" (log scale)" if log_scale else ""))
    axes.set_ylabel("samples")
    axes.legend(loc="upper right", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
