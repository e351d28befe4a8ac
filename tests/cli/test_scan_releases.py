"""Release modes and attacker data as the report records them."""

from __future__ import annotations

import pytest

from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.errors import EXIT_PASSED, EXIT_SCAN_ERROR

from scan_helpers import HIGH_RISK_GATE, report, scan, write_calibration


def assert_verdict_matches_plugins(doc: dict, rc: int) -> None:
    """Passed exactly when every plugin ran (the gates cannot trip in these scans)."""
    all_ok = all(p["status"] in ("ok", "not-applicable") for p in doc["plugins"])
    assert (doc["verdict"]["status"], rc) == (("passed", EXIT_PASSED) if all_ok else ("error", EXIT_SCAN_ERROR))


@pytest.mark.parametrize("release", ["softmax", "top-3", "label"])
def test_restricted_releases_run_and_are_recorded(release, tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    model = tiny_models.vicious_onnx.path
    rc = scan([model], tmp_path, "--release", release, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz)
    doc = report(tmp_path, model.stem)
    assert doc["settings"]["release"] == doc["reconstruction"]["release"] == release
    assert len(doc["reconstruction"]["reference_R"]) == 2
    assert doc["viciousness"]["probability"] is not None
    assert_verdict_matches_plugins(doc, rc)
    rmle = next(p for p in doc["plugins"] if p["name"] == "rmle")
    # rMLE needs a gradient target: it runs on softmax, and does not apply to truncated releases.
    assert rmle["status"] == ("ok" if release == "softmax" else "not-applicable")
    assert rc == EXIT_PASSED  # a restricted release alone must not turn a clean scan into an error


def test_softmax_release_of_a_softmax_model(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    model = tiny_models.softmax_onnx.path
    rc = scan(
        [model], tmp_path, "--release", "softmax", "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz
    )
    doc = report(tmp_path, model.stem)
    assert doc["model"]["output_kind"] == "probabilities"
    assert rc == EXIT_PASSED and doc["verdict"]["status"] == "passed"


def test_without_aux_and_no_fit_for_it_the_scan_is_never_a_pass(tiny_models, labels_csv, tmp_path, tiny_scan):
    model = tiny_models.honest_torchscript.path
    rc = scan([model], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv)
    doc = report(tmp_path, model.stem)
    assert rc == EXIT_SCAN_ERROR and doc["verdict"]["status"] == "error"  # inconclusive, not a false alarm
    assert "no auxiliary inputs (--aux)" in doc["verdict"]["reasons"][0]
    assert doc["viciousness"]["calibration_data"] == "auxiliary"
    assert any("no calibration for scans without --aux" in n for n in doc["viciousness"]["notes"])
    assert doc["reconstruction"]["lower_bound"] is True
    assert "labelled set" in doc["reconstruction"]["attacker_data"]
    assert doc["settings"]["aux"] is None


def test_without_aux_the_labelled_only_calibration_scores_it_but_an_absolute_gate_cannot_clear_it(
    tiny_models, labels_csv, tmp_path, tiny_scan
):
    # The labelled-only fit gives P(vicious); R stays a lower bound, which a fixed gate cannot clear (the pass
    # with the relative gate and 200 rows: tests/scanning/test_scan_limits.py and the sample-model test).
    calibration = write_calibration(tmp_path / "calibration.json", labelled_only=True)
    tiny_scan.setenv(CALIBRATION_ENV, str(calibration))
    model = tiny_models.honest_torchscript.path
    rc = scan([model], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv)
    doc = report(tmp_path, model.stem)
    assert rc == EXIT_SCAN_ERROR and doc["verdict"]["status"] == "error"
    assert "an absolute --fail-on-risk gate cannot clear it" in doc["verdict"]["reasons"][0]
    assert doc["viciousness"]["calibration_data"] == "labelled-only"
    assert any("calibration fitted on scans without --aux" in n for n in doc["viciousness"]["notes"])
    assert doc["reconstruction"]["lower_bound"] is True
    assert "labelled set" in doc["reconstruction"]["attacker_data"]
    assert doc["settings"]["aux"] is None


def test_noise_attacker_is_recorded_as_a_lower_bound(tiny_models, labels_csv, tmp_path, tiny_scan):
    # Even where a labelled-only fit exists, a noise attacker's scan keeps the auxiliary one (its references
    # learn from the labelled set plus noise queries, not the labelled set alone) and never passes.
    calibration = write_calibration(tmp_path / "calibration.json", labelled_only=True)
    tiny_scan.setenv(CALIBRATION_ENV, str(calibration))
    model = tiny_models.vicious_onnx.path
    rc = scan([model], tmp_path, "--aux", "noise", "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv)
    doc = report(tmp_path, model.stem)
    assert rc in (EXIT_SCAN_ERROR, 1)  # found risk, or inconclusive: a noise attacker is a lower bound
    assert doc["verdict"]["status"] != "passed"
    assert doc["viciousness"]["calibration_data"] == "auxiliary"
    assert doc["reconstruction"]["lower_bound"] is True
    assert doc["reconstruction"]["attacker_data"].startswith("uniform noise")
