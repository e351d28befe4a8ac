"""decide(): failed when a gate trips, passed only when every check produced a finite result."""

from __future__ import annotations

import itertools

import pytest

from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.results import PluginOutcome, ReconstructionResult, ViciousnessResult
from modelscan_vicious.scanning.verdict import decide, error_verdict

GATES = dict(fail_on_probability=0.5, fail_on_risk=1.25)
OK = [PluginOutcome("inverse-network", "attack", "ok"), PluginOutcome("finetune-distance", "detector", "ok")]


def viciousness(p: float | None = 0.1) -> ViciousnessResult:
    return ViciousnessResult(p, (0.05, 0.2) if p is not None else None, [], "white-box", "test")


def reconstruction(r: float = 1.0) -> ReconstructionResult:
    return ReconstructionResult(
        R=r,
        psnr=15.0,
        ssim=0.5,
        n_eval=20,
        covariance_estimator="ledoit-wolf",
        n_covariance_samples=100,
        attacker_data="aux",
        lower_bound=False,
        release="logits",
        attack="inverse-network",
        per_sample_risk=[r] * 20,
        reference_R=[1.0],
        reference_ssim=[0.4],
    )


def test_passes_when_every_check_ran_below_both_gates():
    verdict = decide(viciousness(0.1), reconstruction(1.0), OK, **GATES)
    assert (verdict.status, verdict.exit_code) == ("passed", EXIT_PASSED)
    assert len(verdict.reasons) == 2


@pytest.mark.parametrize(("p", "r", "n_reasons"), [(0.5, 1.0, 1), (0.1, 1.25, 1), (0.9, 3.0, 2)])
def test_fails_at_or_above_a_gate(p, r, n_reasons):
    verdict = decide(viciousness(p), reconstruction(r), OK, **GATES)
    assert (verdict.status, verdict.exit_code) == ("failed", EXIT_RISK_FOUND)
    assert len(verdict.reasons) == n_reasons


def test_risk_found_outranks_a_failed_check():
    plugins = [PluginOutcome("finetune-distance", "detector", "failed", "boom")]
    verdict = decide(None, reconstruction(2.0), plugins, **GATES)
    assert verdict.status == "failed" and "R 2.000" in verdict.reasons[0]


@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_a_plugin_that_did_not_run_is_an_error_not_a_pass(status):
    plugins = [*OK, PluginOutcome("trainable-copy", "detector", status, "no copy")]
    verdict = decide(viciousness(0.1), reconstruction(1.0), plugins, **GATES)
    assert (verdict.status, verdict.exit_code) == ("error", EXIT_SCAN_ERROR)
    assert verdict.reasons == [f"detector trainable-copy {status}: no copy"]


@pytest.mark.parametrize(
    ("vic", "rec"),
    [
        (None, reconstruction(1.0)),
        (viciousness(0.1), None),
        (None, None),
        (viciousness(None), reconstruction(1.0)),  # the documented "detector could not run" form
        (viciousness(float("nan")), reconstruction(1.0)),  # NaN compares False with every gate
        (viciousness(0.1), reconstruction(float("nan"))),
    ],
)
def test_a_missing_or_non_finite_result_is_an_error_not_a_pass(vic, rec):
    verdict = decide(vic, rec, OK, **GATES)
    assert (verdict.status, verdict.exit_code) == ("error", EXIT_SCAN_ERROR)
    assert verdict.reasons


def test_never_passes_unless_everything_ran():
    """Every combination of plugin states and present/missing sections, below both gates."""
    statuses = ["ok", "skipped", "failed"]
    sections = itertools.product(statuses, statuses, [None, viciousness()], [None, reconstruction()])
    for attack, detector, vic, rec in sections:
        plugins = [PluginOutcome("a", "attack", attack), PluginOutcome("d", "detector", detector)]
        verdict = decide(vic, rec, plugins, **GATES)
        everything_ran = attack == detector == "ok" and vic is not None and rec is not None
        assert (verdict.status == "passed") == everything_ran, (attack, detector, vic, rec)
        assert verdict.status in ("passed", "error")


def test_error_verdict_carries_its_message():
    verdict = error_verdict("model rejects input")
    assert (verdict.status, verdict.exit_code, verdict.reasons) == ("error", EXIT_SCAN_ERROR, ["model rejects input"])


def test_the_default_risk_gate_is_relative_to_the_honest_references():
    from modelscan_vicious.config import RELATIVE_RISK_MARGIN
    from modelscan_vicious.scanning.verdict import risk_gate_for

    gates = dict(fail_on_probability=0.5, fail_on_risk=None)
    gate, basis = risk_gate_for([1.10, 1.30, 1.20], None)
    assert gate == pytest.approx(1.30 + RELATIVE_RISK_MARGIN) and "highest R 1.300" in basis
    honest_like = ReconstructionResult(**{**reconstruction(1.31).__dict__, "reference_R": [1.30, 1.28]})
    assert decide(viciousness(0.1), honest_like, OK, **gates).status == "passed"  # high R, but so are its references
    leaky = ReconstructionResult(**{**reconstruction(1.34).__dict__, "reference_R": [1.30, 1.28]})
    verdict = decide(viciousness(0.1), leaky, OK, **gates)
    assert verdict.status == "failed" and "honest references' highest R 1.300" in verdict.reasons[0]
    assert risk_gate_for([1.0], 1.25) == (1.25, "absolute, --fail-on-risk")


def test_no_honest_reference_r_means_no_pass():
    no_refs = ReconstructionResult(**{**reconstruction(1.0).__dict__, "reference_R": []})
    verdict = decide(viciousness(0.1), no_refs, OK, fail_on_probability=0.5, fail_on_risk=None)
    assert verdict.status == "error"
