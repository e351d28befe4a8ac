"""HTML report: plain-words verdict first, self-contained, escaped, and every section handled."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from modelscan_vicious.reports import render_html
from modelscan_vicious.reports.html_report import format_number, format_percent, format_span
from modelscan_vicious.scan.result import PluginOutcome


@pytest.fixture(scope="module")
def failed_html(failed_result) -> str:
    return render_html(failed_result)


def test_verdict_comes_first_in_plain_words(failed_html):
    banner = failed_html.index("Do not deploy: this model&#39;s outputs let whoever receives them")
    assert banner < failed_html.index('id="evidence"') < failed_html.index('id="reconstruction"')
    assert failed_html.index('id="reconstruction"') < failed_html.index('id="plugins"')
    assert failed_html.index('id="plugins"') < failed_html.index('id="details"')
    assert "banner-failed" in failed_html
    assert "97% (interval 91%–99.5%)" in failed_html
    assert "R = 6.3: reconstructions are on average 6.3× closer" in failed_html
    assert "R 6.3 &gt;= 1.5" in failed_html


def test_evidence_table(failed_html):
    for name in ("weight_drift", "output_entropy", "undefined_stat"):
        assert name in failed_html
    assert "0.9, 1.1, 1, 0.95, 1.05" in failed_html  # short reference lists shown in full
    assert re.search(r"min [0-9.]+ · mean [0-9.]+ · max [0-9.]+", failed_html)  # long ones summarised
    assert "9.7" in failed_html and "Distance moved by fine-tuning" in failed_html


def test_reconstruction_section(failed_html):
    for text in (
        "ledoit-wolf",
        "2,000 samples",
        "auxiliary (2000 inputs from mnist.npz)",
        "Yes: a stronger attacker may reconstruct even better",
        "logits",
        "0.98, 1.02, 1.05",
        "InverseNetworkAttack",
        "∞ dB",
    ):
        assert text in failed_html, text
    # 6 original/reconstruction pairs plus one histogram
    assert failed_html.count('src="data:image/png;base64,') == 13
    assert "histogram of per-sample reconstruction risk" in failed_html


def test_skipped_plugin_is_prominent(failed_html):
    assert "1 check did not complete" in failed_html
    assert "model has no gradients" in failed_html


def test_self_contained(failed_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", failed_html, re.I)
    assert "<script" not in failed_html.lower()
    assert "<link" not in failed_html.lower()
    assert "@import" not in failed_html


def test_passed_report(passed_result):
    html = render_html(passed_result)
    assert "No sign of vicious training found" in html
    assert "banner-passed" in html
    assert "did not complete" not in html
    assert "honest reference copies reach R 1 (R = 1" in html  # a single reference is not "1–1"
    assert "No example images were recorded." in html


def test_error_report_without_sections(error_result):
    html = render_html(error_result)
    assert "Scan error: cannot load model: not an ONNX file" in html
    assert html.count("not an ONNX file") == 1  # the headline reason is not repeated under "Why"
    assert "banner-error" in html
    assert "viciousness detector did not run" in html
    assert "No reconstruction attack ran" in html
    assert "the model could not be loaded" in html
    assert "data:image/png" not in html


def test_user_strings_are_escaped(failed_result):
    evil = '<script>alert("x")</script>.onnx'
    result = replace(
        failed_result,
        model_path=evil,
        model=replace(failed_result.model, path=evil),
        plugins=[PluginOutcome("<img src=x onerror=1>", "attack", "failed", "<b>boom</b>")],
    )
    html = render_html(result)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>boom" not in html


def test_rgb_examples_and_missing_histogram(failed_result):
    rng = __import__("numpy").random.default_rng(1)
    rec = replace(
        failed_result.reconstruction,
        example_originals=rng.random((2, 3, 16, 16)),
        example_reconstructions=rng.random((2, 3, 16, 16)),
        per_sample_risk=[],
    )
    html = render_html(replace(failed_result, reconstruction=rec))
    assert html.count("data:image/png;base64,") == 4
    assert "No per-sample risks were recorded." in html


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (float("nan"), "—"), (float("inf"), "∞"), (0.123456, "0.123"), (12345.6, "12,346"), (7, "7")],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.97, "97%"), (0.995, "99.5%"), (0.001, "0.1%"), (1.0, "100%")])
def test_format_percent(value, text):
    assert format_percent(value) == text


def test_format_span():
    assert format_span({"min": 0.1, "max": 0.1}) == "0.1"
    assert format_span({"min": 0.98, "max": 1.05}) == "0.98–1.05"
    assert format_span(None) == "—"
