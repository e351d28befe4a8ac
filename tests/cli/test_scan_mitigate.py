"""`scan --mitigate`: the measured mitigations reach the JSON and HTML reports."""

from __future__ import annotations

from modelscan_vicious.reports import validate_report

from scan_helpers import HIGH_RISK_GATE, report, scan


def test_mitigate_reports_every_mitigation(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    model = tiny_models.vicious_onnx.path
    rc = scan([model], tmp_path, "--mitigate", "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz)
    doc = report(tmp_path, model.stem)
    validate_report(doc)
    names = [m["name"] for m in doc["mitigations"]]
    assert rc == 0 and "laplace-1" in names and "label" in names and "top-3" in names
    assert sum(m["recommended"] for m in doc["mitigations"]) <= 1
    assert doc["settings"]["mitigate"] is True and "mitigations" in doc["timings"]
    assert "Mitigations, measured" in (tmp_path / f"{model.stem}.html").read_text()


def test_without_mitigate_no_mitigation_is_run(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    model = tiny_models.honest_onnx.path
    scan([model], tmp_path, "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz)
    doc = report(tmp_path, model.stem)
    assert doc["mitigations"] == [] and "mitigations" not in doc["timings"]
