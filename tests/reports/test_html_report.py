"""HTML report: plain-words verdict first, self-contained, escaped, and every section handled."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from modelscan_vicious.reports import render_html
from modelscan_vicious.reports.html_report import INTERVAL_PERCENTILES, wrap_points
from modelscan_vicious.results import Evidence, PluginOutcome


@pytest.fixture(scope="module")
def failed_html(failed_result) -> str:
    return render_html(failed_result)


def test_verdict_comes_first_in_plain_words(failed_html):
    banner = failed_html.index("Do not deploy: this model&#39;s outputs let whoever receives them")
    assert banner < failed_html.index('id="evidence"') < failed_html.index('id="reconstruction"')
    assert failed_html.index('id="reconstruction"') < failed_html.index('id="plugins"')
    assert failed_html.index('id="plugins"') < failed_html.index('id="details"')
    assert "banner-failed" in failed_html
    assert "0.97 (interval 0.91–0.99; gate 0.50)" in failed_html
    assert "R = 6.300 (gate 1.500): reconstructions are on average 6.300× closer" in failed_html
    assert "R 6.3 &gt;= 1.5" in failed_html


def test_evidence_table(failed_html):
    for name in ("weight_<wbr>drift", "within_<wbr>class_<wbr>variance", "undefined_<wbr>stat"):
        assert name in failed_html
    assert "0.900, 1.100, 1.000" in failed_html  # short reference lists shown in full, one precision
    assert "9.70" in failed_html and "Distance moved by fine-tuning" in failed_html


def test_long_reference_lists_are_summarised(failed_result):
    many = Evidence("output_entropy", 0.31, [0.1 * i for i in range(1, 21)], "Entropy", -3.4)
    html = render_html(replace(failed_result, viciousness=replace(failed_result.viciousness, evidence=[many])))
    assert "min 0.100 · mean 1.050 · max 2.000" in html


def test_reconstruction_section(failed_html):
    for text in (
        "ledoit-wolf",
        "2,000 samples",
        "auxiliary (2000 inputs from mnist.npz)",
        "Yes: a stronger attacker may reconstruct even better",
        "logits",
        "R 0.980, 1.020, 1.050",
        "InverseNetworkAttack",
        "∞ dB",
        '0.910 <span class="muted">(honest references: 0.110–0.150)',
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
    assert "honest reference copies reach R 1.000 (R = 1" in html  # a single reference is not "1–1"
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


def test_wrap_points_break_names_between_words_only():
    assert wrap_points("within_class_rank") == "within_<wbr>class_<wbr>rank"
    assert wrap_points("budget.n_bootstrap") == "budget.<wbr>n_<wbr>bootstrap"
    assert wrap_points("finetune") == "finetune"


def _with_gate(result, *, r: float, gate: float):
    settings = dict(result.settings, thresholds={"fail_on_probability": 0.65, "fail_on_risk": gate})
    return replace(result, settings=settings, reconstruction=replace(result.reconstruction, R=r))


def test_r_and_its_gate_read_at_the_same_precision(failed_result):
    # The user's report: R shown as "1.2" next to a gate of 1.200.
    html = render_html(_with_gate(failed_result, r=1.2045239155477587, gate=1.2))
    assert "R = 1.205 (gate 1.200)" in html
    assert '<td class="num">1.205 <span class="muted">(gate 1.200)</span></td>' in html
    assert '<td class="code long">1.200</td>' in html  # the gate in the settings table
    assert not re.search(r"\bR = 1\.2\b(?!\d)", html)
    assert "gate 0.65)" in html  # the probability gate at the probability's precision


def test_the_relative_risk_gate_is_shown_with_what_it_rests_on(failed_result):
    basis = "honest references' highest R 1.161 + 0.03"
    rec = replace(failed_result.reconstruction, R=1.205, risk_gate=1.191, risk_gate_basis=basis)
    html = render_html(replace(failed_result, reconstruction=rec))
    assert "R = 1.205 (gate 1.191: honest references&#39; highest R 1.161 + 0.03)" in html


def test_psnr_ssim_and_attack_table_use_one_precision_each(failed_result):
    attacks = [
        {"name": "inverse-network", "R": 1.20452, "psnr": 16.360296, "ssim": 0.889415, "n_eval": 68},
        {"name": "rmle", "R": 0.28476, "psnr": 9.1518, "ssim": 0.62498, "n_eval": 32},
    ]
    rec = replace(failed_result.reconstruction, psnr=16.360296, attacks=attacks)
    html = render_html(replace(failed_result, reconstruction=rec))
    assert "16.36 dB" in html
    for cells in ('1.205</td><td class="num">16.36</td><td class="num">0.889', '0.285</td><td class="num">9.15</td>'):
        assert cells in html, cells


def test_names_wrap_at_word_boundaries_and_only_paths_break_anywhere(failed_html):
    assert "break-all" not in failed_html
    assert ".long { overflow-wrap: anywhere; }" in failed_html
    assert re.search(r"\.code \{[^}]*\}", failed_html) and "overflow-wrap" not in re.search(
        r"\.code \{[^}]*\}", failed_html
    ).group(0)
    assert '<td class="code name">within_<wbr>class_<wbr>variance</td>' in failed_html
    assert '<td class="code long">models/vicious_mnist.onnx</td>' in failed_html
    assert f'<td class="code long">{"ab" * 32}</td>' in failed_html


def test_histogram_caption_describes_this_scan(failed_html, failed_result):
    assert "an honest model sits around it" not in failed_html
    assert "This model&#39;s R (6.300, solid line) is their mean." in failed_html
    assert "The dashed line is the gate, R = 1.500." in failed_html
    assert "against this scan&#39;s 3 honest references (0.980–1.050)." in failed_html
    lone = render_html(replace(failed_result, reconstruction=replace(failed_result.reconstruction, reference_R=[])))
    assert "No honest reference was attacked in this scan" in lone


def test_interval_says_where_it_comes_from(failed_html, failed_result):
    assert (
        "The interval is the 5th–95th percentile of the probability over 200 bootstrap resamples of the "
        "3 honest references used in this scan" in failed_html
    )
    four = [replace(e, reference_values=[1.0, 1.1, 1.2, 1.3]) for e in failed_result.viciousness.evidence]
    html = render_html(replace(failed_result, viciousness=replace(failed_result.viciousness, evidence=four)))
    assert "of the 4 honest references used in this scan" in html
    none = render_html(replace(failed_result, viciousness=replace(failed_result.viciousness, interval=None)))
    assert 'id="interval-source"' not in none


def test_interval_percentiles_match_the_detector():
    from modelscan_vicious.detectors.finetune_distance import INTERVAL

    assert tuple(map(float, INTERVAL_PERCENTILES)) == INTERVAL


def test_gpu_package_on_a_cpu_scan_is_labelled(failed_html, failed_result):
    assert "the scan ran on <strong>cpu</strong>" in failed_html
    assert "GPU build of ONNX Runtime, installed; this cpu scan ran it with its CPU execution provider" in failed_html
    environment = dict(failed_result.environment, device="cuda")
    assert "GPU build of ONNX Runtime" not in render_html(replace(failed_result, environment=environment))


def test_not_applicable_check_is_not_reported_as_incomplete(passed_result):
    plugins = [*passed_result.plugins, PluginOutcome("rmle", "attack", "not-applicable", "label release")]
    html = render_html(replace(passed_result, plugins=plugins))
    assert "did not complete" not in html  # scanning/verdict.py does not count it either
    assert "label release" in html


def test_mitigations_table_uses_the_report_precisions(failed_result):
    from modelscan_vicious.results import MitigationResult

    mitigations = [MitigationResult("top-1", "release only the top label", 0.953, 0.012, 1.0412, 0.1234, True)]
    html = render_html(replace(failed_result, mitigations=mitigations))
    assert '<td class="num">95.3%</td><td class="num">1.2%</td>' in html
    assert '<td class="num">1.041</td><td class="num">0.123</td>' in html


def test_the_cost_estimate_the_reference_method_and_reductions_are_shown(failed_result):
    from modelscan_vicious.results import CostInfo

    cost = CostInfo(
        estimated_seconds={"references": 120.0, "attack": 60.0},
        step_seconds={"reference_epoch_128_inputs": 1.0},
        parameters=25_557_032,
        flops_per_input=4.1e9,
        timeout_s=1800.0,
        reductions=["references: the model's head re-trained instead of copies from scratch (est. 41.0 min)"],
        budget={},
        reference_method="head",
    )
    html = render_html(replace(failed_result, cost=cost, timings={"references": 100.5}))
    section = html[html.index('id="cost"') :]
    assert "25,557,032" in section and "4,100,000,000" in section
    assert "head (last two weight layers) re-trained" in section and "never passed" in section
    assert "instead of copies from scratch (est. 41.0 min)" in section
    row = r"<td>references</td><td class=\"num\">120\.0\d* s</td><td class=\"num\">100\.5\d* s</td>"
    assert re.search(row, section)
    assert "<td>attack</td>" in section and '<td class="num">-</td>' in section  # estimated, did not run
    assert 'id="cost"' not in render_html(replace(failed_result, cost=None))
