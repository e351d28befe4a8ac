"""scan_limits(): what keeps a scan from `passed`, above all for scans without --aux."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.detectors.calibration import AUXILIARY, CALIBRATION_LABELLED_ROWS, LABELLED_ONLY
from modelscan_vicious.results import CostInfo, ReconstructionResult, ViciousnessResult
from modelscan_vicious.scanning.pipeline import scan_limits

FULL_COST = CostInfo({}, {}, parameters=1, flops_per_input=None, timeout_s=600.0, reductions=[], budget={})
RELATIVE_GATE = ScanConfig(labels=Path("labels.csv"))


def viciousness(calibration_data: str) -> ViciousnessResult:
    return ViciousnessResult(0.1, (0.05, 0.2), [], "white-box", "test", calibration_data=calibration_data)


def reconstruction(lower_bound: bool) -> ReconstructionResult:
    return ReconstructionResult(
        R=0.9,
        psnr=15.0,
        ssim=0.5,
        n_eval=40,
        covariance_estimator="ledoit-wolf",
        n_covariance_samples=160,
        attacker_data="the labelled set, augmented",
        lower_bound=lower_bound,
        release="logits",
        attack="inverse-network",
        per_sample_risk=[0.9] * 40,
        reference_R=[0.95],
        reference_ssim=[0.4],
    )


def test_a_scan_with_aux_and_the_full_method_has_no_limit():
    assert scan_limits(FULL_COST, reconstruction(False), viciousness(AUXILIARY), RELATIVE_GATE, 50) == []


def test_without_aux_the_labelled_only_fit_and_the_relative_gate_make_a_full_check():
    rows = CALIBRATION_LABELLED_ROWS
    assert scan_limits(FULL_COST, reconstruction(True), viciousness(LABELLED_ONLY), RELATIVE_GATE, rows) == []


@pytest.mark.parametrize(
    ("calibration_data", "fail_on_risk", "rows", "said"),
    [
        (AUXILIARY, None, CALIBRATION_LABELLED_ROWS, "calibrated on scans with auxiliary data"),
        # R without --aux is a lower bound: a fixed number below it clears nothing.
        (LABELLED_ONLY, 1.3, CALIBRATION_LABELLED_ROWS, "an absolute --fail-on-risk gate cannot clear it"),
        # Without --aux the labelled rows are the attacker's only data, and the fit saw 200 of them.
        (LABELLED_ONLY, None, 30, "30 labelled rows, fewer than the 200"),
    ],
)
def test_without_aux_anything_short_of_the_calibrated_setting_keeps_it_from_passing(
    calibration_data, fail_on_risk, rows, said
):
    config = replace(RELATIVE_GATE, fail_on_risk=fail_on_risk)
    limits = scan_limits(FULL_COST, reconstruction(True), viciousness(calibration_data), config, rows)
    assert len(limits) == 1 and said in limits[0] and "no auxiliary inputs (--aux)" in limits[0]


def test_reductions_and_head_references_are_limits_whatever_the_data():
    cost = replace(FULL_COST, reductions=["attack epochs 40 -> 20"], reference_method="head")
    limits = scan_limits(cost, reconstruction(False), viciousness(AUXILIARY), RELATIVE_GATE, 200)
    assert [limit.split(" ")[0] for limit in limits] == ["reduced", "references"]


def test_head_references_scored_by_a_head_fit_are_the_full_method():
    cost = replace(FULL_COST, reference_method="head")
    calibrated = replace(viciousness(AUXILIARY), calibration_references="head")
    assert scan_limits(cost, reconstruction(False), calibrated, RELATIVE_GATE, 200) == []
    limits = scan_limits(cost, reconstruction(False), viciousness(AUXILIARY), RELATIVE_GATE, 200)
    assert len(limits) == 1 and "calibrated on references trained from scratch" in limits[0]
