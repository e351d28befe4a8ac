"""What a scan writes: JSON that validates, HTML, SARIF, one report per model, reproducible numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from modelscan_vicious.commands.scan_runner import _report_stems
from modelscan_vicious.detectors.finetune_distance import DESCRIPTIONS
from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.reports import validate_report

from scan_helpers import HIGH_RISK_GATE, files_under, report, scan, tiny_scan_settings

SEED = 7


@pytest.fixture(scope="module")
def full_scan(tiny_models, labels_csv, aux_npz, low_calibration, tmp_path_factory) -> tuple[int, Path, Path]:
    """One scan of the vicious ONNX model with every report format; returns (exit code, output dir, model)."""
    out = tmp_path_factory.mktemp("full_scan")
    model = tiny_models.vicious_onnx.path
    with tiny_scan_settings(low_calibration):
        rc = scan(
            [model],
            out,
            "--format",
            "json,html,sarif",
            "--seed",
            str(SEED),
            "--fail-on-risk",
            HIGH_RISK_GATE,
            labels=labels_csv,
            aux=aux_npz,
        )
    return rc, out, model


def numbers(doc: dict) -> dict:
    """The report without what legitimately differs between two runs: wall-clock timings, the cost
    estimate's measured seconds, and whether the references came from the cache."""
    doc = json.loads(json.dumps(doc))
    doc.pop("timings")
    doc.pop("reference_cache", None)
    for measured in ("estimated_seconds", "step_seconds"):
        doc["cost"].pop(measured)
    return doc


def test_json_report_validates_and_records_how_it_was_made(full_scan):
    rc, out, model = full_scan
    assert rc == EXIT_PASSED
    doc = report(out, model.stem)
    validate_report(doc)
    assert doc["settings"]["seed"] == SEED
    assert doc["settings"]["release"] == "logits" and doc["settings"]["budget"]["n_references"] == 2
    assert {"torch", "numpy", "onnx"} <= set(doc["environment"]["packages"])
    assert doc["environment"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")  # --device auto
    assert doc["tool_version"]
    assert {"load", "references", "attack", "detector"} <= set(doc["timings"])
    assert all(isinstance(t, float) and t >= 0 for t in doc["timings"].values())
    assert doc["model"]["sha256"] and doc["model"]["trainable"] is True
    assert doc["reconstruction"]["lower_bound"] is False  # --aux given
    assert len(doc["reconstruction"]["reference_R"]) == 2
    evidence = [e["name"] for e in doc["viciousness"]["evidence"]]
    assert evidence == list(DESCRIPTIONS) and doc["viciousness"]["mode"] == "white-box"
    containment = doc["containment"]  # the scan ran in a contained worker, and the report says how
    assert containment["weak"] is False and containment["files_read"] == [str(model.absolute())]
    assert {"network-namespace", "rlimit-address-space"} <= set(containment["mechanisms"])
    assert any(m.startswith("landlock-abi-") for m in containment["mechanisms"])


def test_html_and_sarif_reports_are_written(full_scan):
    rc, out, model = full_scan
    html = (out / f"{model.stem}.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and model.name in html
    sarif = json.loads((out / "modelscan-vicious.sarif").read_text())
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1


def test_sarif_only_writes_just_the_sarif_file(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    rc = scan(
        [tiny_models.honest_onnx.path],
        tmp_path,
        "--format",
        "sarif",
        "--fail-on-risk",
        HIGH_RISK_GATE,
        labels=labels_csv,
        aux=aux_npz,
    )
    assert rc == EXIT_PASSED
    assert [p.name for p in files_under(tmp_path)] == ["modelscan-vicious.sarif"]
    assert json.loads((tmp_path / "modelscan-vicious.sarif").read_text())["runs"]


def test_same_seed_gives_identical_numbers(full_scan, labels_csv, aux_npz, tmp_path, tiny_scan):
    _, first_out, model = full_scan
    assert (
        scan(
            [model],
            tmp_path,
            "--format",
            "json",
            "--seed",
            str(SEED),
            "--fail-on-risk",
            HIGH_RISK_GATE,
            labels=labels_csv,
            aux=aux_npz,
        )
        == EXIT_PASSED
    )
    first, again = report(first_out, model.stem), report(tmp_path, model.stem)
    assert numbers(first) == numbers(again)
    assert again["reconstruction"]["R"] == first["reconstruction"]["R"]  # spelled out: the numbers that matter
    assert again["viciousness"]["evidence"] == first["viciousness"]["evidence"]


def test_another_seed_gives_other_numbers(full_scan, labels_csv, aux_npz, tmp_path, tiny_scan):
    _, first_out, model = full_scan
    scan(
        [model],
        tmp_path,
        "--format",
        "json",
        "--seed",
        str(SEED + 1),
        "--fail-on-risk",
        HIGH_RISK_GATE,
        labels=labels_csv,
        aux=aux_npz,
    )
    first, other = report(first_out, model.stem), report(tmp_path, model.stem)
    assert other["settings"]["seed"] == SEED + 1
    assert other["reconstruction"]["R"] != first["reconstruction"]["R"]
    assert [e["suspect_value"] for e in other["viciousness"]["evidence"]] != [
        e["suspect_value"] for e in first["viciousness"]["evidence"]
    ]


def test_several_models_each_get_a_report_and_the_worst_exit_code_wins(
    tiny_models, labels_csv, aux_npz, tmp_path, capsys, tiny_scan
):
    """Two models named model.onnx in different folders, and a corrupt one between them."""
    first, second = tmp_path / "a" / "model.onnx", tmp_path / "b" / "model.onnx"
    for path, source in ((first, tiny_models.honest_onnx.path), (second, tiny_models.vicious_onnx.path)):
        path.parent.mkdir()
        shutil.copy(source, path)
    corrupt = tmp_path / "c" / "broken.onnx"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not onnx")
    out = tmp_path / "out"
    rc = scan([first, corrupt, second], out, "--fail-on-risk", "0.01", labels=labels_csv, aux=aux_npz)
    assert rc == max(EXIT_RISK_FOUND, EXIT_SCAN_ERROR)  # the corrupt file (2) outranks risk found (1)
    assert sorted(p.name for p in files_under(out)) == ["model-2.html", "model-2.json", "model.html", "model.json"]
    assert report(out, "model")["model"]["path"] == str(first)
    assert report(out, "model-2")["model"]["path"] == str(second)
    assert report(out, "model")["verdict"]["status"] == report(out, "model-2")["verdict"]["status"] == "failed"
    err = capsys.readouterr().err
    assert sum("broken.onnx" in line and line.startswith("error:") for line in err.splitlines()) == 1


def test_report_names_never_collide():
    a, b = Path("x/model.onnx"), Path("y/model.pt")
    assert _report_stems([a, b]) == ["model", "model-2"]
    # The same path twice used to overwrite one report with the other and leave "model" unwritten.
    assert _report_stems([a, a]) == ["model", "model-2"]
    # A model literally named model-2 used to share a report with the second model.onnx.
    assert _report_stems([a, Path("model-2.onnx"), b]) == ["model", "model-2", "model-3"]
    # Case-insensitive file systems (macOS, Windows) would merge Model.json and model.json.
    assert _report_stems([Path("Model.onnx"), a]) == ["Model", "model-2"]


def test_benchmarks_recompute_a_scan_exactly_from_its_saved_evidence(full_scan, low_calibration, monkeypatch):
    from benchmarks import detect
    from modelscan_vicious.detectors.calibration import CALIBRATION_ENV

    _, out, model = full_scan
    vic = report(out, model.stem)["viciousness"]
    row = {"report": str(out / f"{model.stem}.json"), "z": {e["name"]: e["z_score"] for e in vic["evidence"]}}
    monkeypatch.setenv(CALIBRATION_ENV, str(low_calibration))
    again = detect.recompute(row)
    assert again["z"] == pytest.approx(row["z"], abs=1e-12)
    assert again["probability"] == pytest.approx(vic["probability"], abs=1e-12)
    assert again["interval"] == pytest.approx(vic["interval"], abs=1e-12)
