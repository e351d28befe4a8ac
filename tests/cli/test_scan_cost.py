"""A scan whose estimate does not fit --timeout runs reduced, says so, and never passes."""

from __future__ import annotations

import json

import pytest

from modelscan_vicious.scanning import cost
from modelscan_vicious.scanning.cost import StepTimes

from scan_helpers import HIGH_RISK_GATE, TINY_BUDGET, report, scan


@pytest.mark.parametrize(("reference_epoch", "status"), [(5.0, "error"), (1e6, "error")])
def test_a_reduced_scan_is_reported_and_never_passes(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch, reference_epoch, status
):
    slow = StepTimes(
        reference_epoch=reference_epoch,
        head_epoch=None,
        decoder_epoch=0.0,
        query=0.0,
        parameters=1,
        flops_per_input=1.0,
    )
    monkeypatch.setattr(cost, "measure", lambda *args: slow)
    model = tiny_models.honest_torchscript.path
    flags = ["--no-containment", "--fail-on-risk", HIGH_RISK_GATE, "--timeout", "60", "--format", "json"]
    scan([model], tmp_path, *flags, labels=labels_csv, aux=aux_npz)
    document = report(tmp_path, model.stem)
    assert document["verdict"]["status"] == status
    if reference_epoch < 1e6:
        assert document["cost"]["reductions"] and document["cost"]["budget"]["reference_epochs"] < (
            TINY_BUDGET.reference_epochs
        )
        assert "reduced to fit --timeout" in document["verdict"]["reasons"][0]
        assert document["settings"]["budget"]["reference_epochs"] == TINY_BUDGET.reference_epochs  # as asked
    else:
        assert "raise --timeout" in document["verdict"]["reasons"][0]
    json.dumps(document)


def test_auto_takes_head_references_when_only_they_fit_and_never_passes(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch
):
    """Scratch references that would not fit, head ones that would, and no head fit in the calibration file:
    the scan re-trains the suspect's head, records the switch and the method, and keeps the verdict from
    `passed`."""
    _calibration_file(tmp_path, monkeypatch, head_fit=False)
    slow_scratch = StepTimes(
        reference_epoch=5.0, head_epoch=1e-4, decoder_epoch=0.0, query=0.0, parameters=1, flops_per_input=1.0
    )
    monkeypatch.setattr(cost, "measure", lambda *args: slow_scratch)
    model = tiny_models.honest_onnx.path
    flags = ["--no-containment", "--fail-on-risk", HIGH_RISK_GATE, "--timeout", "60", "--format", "json"]
    scan([model], tmp_path, *flags, labels=labels_csv, aux=aux_npz)
    document = report(tmp_path, model.stem)
    assert document["cost"]["reference_method"] == "head"
    assert document["settings"]["references"] == "auto"
    assert "instead of copies from scratch" in document["cost"]["reductions"][0]
    assert document["verdict"]["status"] == "error"  # never passed: reduced, and weaker evidence
    assert any("re-trained only the model's head" in reason for reason in document["verdict"]["reasons"])
    assert any(note.startswith("references: the model with its head") for note in document["viciousness"]["notes"])
    assert document["viciousness"]["probability"] is not None


def test_with_a_head_fit_auto_takes_calibrated_head_references_and_may_pass(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch
):
    """A calibration file with a head fit: scratch references that would be slow give way to head ones at
    full budget, scored by that fit; nothing is reduced, so the verdict is the gates' own."""
    _calibration_file(tmp_path, monkeypatch, head_fit=True)
    slow_scratch = StepTimes(
        reference_epoch=5.0, head_epoch=1e-4, decoder_epoch=0.0, query=0.0, parameters=1, flops_per_input=1.0
    )
    monkeypatch.setattr(cost, "measure", lambda *args: slow_scratch)
    monkeypatch.setattr(cost, "SCRATCH_PREFERRED_S", 1.0)  # a tiny model's "slow" scratch scan
    model = tiny_models.honest_onnx.path
    flags = ["--no-containment", "--fail-on-risk", HIGH_RISK_GATE, "--fail-on-probability", "1.0"]
    scan([model], tmp_path, *flags, "--format", "json", labels=labels_csv, aux=aux_npz)
    report_document = report(tmp_path, model.stem)
    assert report_document["cost"]["reference_method"] == "head" and report_document["cost"]["reductions"] == []
    assert report_document["cost"]["reference_choice"].startswith("head references, calibrated: from-scratch ones est.")
    assert report_document["viciousness"]["calibration_references"] == "head"
    assert "test head" in report_document["viciousness"]["calibration"]
    assert report_document["verdict"]["status"] == "passed"  # calibrated head references are the full method
    assert not any("head" in reason for reason in report_document["verdict"]["reasons"])


def _calibration_file(tmp_path, monkeypatch, *, head_fit: bool) -> None:
    """The shipped calibration with (a copy of the white-box fit, named "test head") or without head fits."""
    from modelscan_vicious.detectors.calibration import CALIBRATION_ENV, calibration_path

    document = json.loads(calibration_path().read_text())
    modes = {key: mode for key, mode in document["modes"].items() if "/head" not in key}
    if head_fit:
        modes["white-box/head"] = {**modes["white-box"], "provenance": {"dataset": "test head"}}
    calibration = tmp_path / "calibration.json"
    calibration.write_text(json.dumps({**document, "modes": modes}))
    monkeypatch.setenv(CALIBRATION_ENV, str(calibration))


def test_an_unknown_reference_method_is_a_usage_error(tiny_models, labels_csv, tmp_path, tiny_scan):
    from modelscan_vicious.errors import EXIT_USAGE_ERROR

    code = scan([tiny_models.honest_onnx.path], tmp_path, "--references", "width", labels=labels_csv)
    assert code == EXIT_USAGE_ERROR
