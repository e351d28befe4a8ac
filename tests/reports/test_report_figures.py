"""Embedded pictures: upscaled example images and the per-sample risk histogram."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from modelscan_vicious.reports.figures import (
    MIN_IMAGE_SIDE,
    RiskMarks,
    example_pairs,
    histogram_caption,
    image_png,
    risk_histogram_figure,
    risk_histogram_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _open(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_small_grey_image_is_upscaled_with_nearest_neighbour():
    chw = np.zeros((1, 8, 8))
    chw[0, 0, 0] = 1.0
    image = _open(image_png(chw))
    assert image.size == (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)
    assert image.mode == "L"
    pixels = np.asarray(image)
    block = MIN_IMAGE_SIDE // 8
    assert (pixels[:block, :block] == 255).all() and (pixels[block:, :] == 0).all()


def test_rgb_and_out_of_range_values():
    chw = np.full((3, 4, 6), 2.0)
    chw[1] = np.nan
    image = _open(image_png(chw))
    assert image.mode == "RGB"
    assert image.size == (6 * 16, 4 * 16)
    assert tuple(np.asarray(image)[0, 0]) == (255, 0, 255)


def test_example_pairs_are_data_uris_and_capped():
    rng = np.random.default_rng(0)
    pairs = example_pairs(rng.random((12, 1, 8, 8)), rng.random((12, 1, 8, 8)), max_examples=5)
    assert len(pairs) == 5
    for uri in pairs[0]:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_MAGIC)


def test_example_pairs_tolerate_missing_or_mismatched_arrays():
    assert example_pairs(None, np.zeros((1, 1, 8, 8))) == []
    assert example_pairs(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 4, 4))) == []
    assert example_pairs(np.zeros((8, 8)), np.zeros((8, 8))) == []


def test_histogram_handles_wide_ranges_and_missing_values():
    rng = np.random.default_rng(0)
    risks = list(rng.lognormal(3, 2.5, 300)) + [1e6, float("nan"), None, float("inf")]
    png = risk_histogram_png(risks)
    assert png is not None and png.startswith(PNG_MAGIC)
    assert _open(png).size == (750, 300)


def test_histogram_without_finite_values_is_none():
    assert risk_histogram_png([]) is None
    assert risk_histogram_png([float("nan"), None]) is None


# Per-sample risks of a real fast scan of sample_models/vicious-cnn.onnx: 0.91-1.67, R 1.205,
# honest references 1.142-1.161, gate 1.200.
SCAN_RISKS = list(np.linspace(0.912, 1.668, 68))
SCAN_MARKS = RiskMarks(r=1.20452, gate=1.2, reference_r=(1.1607, 1.1424, 1.1612))


def _xlim(values, marks):
    figure = risk_histogram_figure(values, marks)
    assert figure is not None
    return figure.axes[0].get_xlim(), figure.axes[0].get_xscale()


def test_histogram_axis_fits_the_data_not_zero():
    (low, high), scale = _xlim(SCAN_RISKS, SCAN_MARKS)
    assert scale == "linear"
    assert 0.8 < low < 0.912 and 1.668 < high < 1.75  # data plus a small margin; 0 is not forced in


def test_histogram_axis_includes_gate_and_reference_range_outside_the_data():
    marks = RiskMarks(r=1.2, gate=2.5, reference_r=(0.5, 0.6))
    (low, high), _ = _xlim(SCAN_RISKS, marks)
    assert low <= 0.5 and high >= 2.5


def test_histogram_marks_gate_r_and_references():
    figure = risk_histogram_figure(SCAN_RISKS, SCAN_MARKS)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["honest references: R 1.142–1.161 (n=3)", "gate 1.200", "this model: R 1.205 (mean)"]


def test_histogram_log_axis_for_wide_ranges_still_fits_the_data():
    (low, high), scale = _xlim([0.5, 3.0, 900.0], RiskMarks(gate=1.2))
    assert scale == "log" and 0.3 < low < 0.5 and 900.0 < high < 1200.0


def test_caption_reports_what_the_scan_measured():
    text = histogram_caption(SCAN_MARKS)
    assert "This model's R (1.205, solid line) is their mean." in text
    assert "The dashed line is the gate, R = 1.200." in text
    assert "this scan's 3 honest references (1.142–1.161)" in text
    assert "honest model" not in text  # no general claim about where honest models sit
    assert "No honest reference was attacked" in histogram_caption(RiskMarks(r=1.0))
