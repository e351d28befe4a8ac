"""Resuming a batch: models whose reports are up to date are skipped (and counted), `--force` rescans,
and `--manifest` lists models in a file."""

from __future__ import annotations

import json

from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.errors import EXIT_PASSED

from scan_helpers import HIGH_RISK_GATE, scan, write_calibration

SKIPPED = "skipped (report up to date): "


def test_a_batch_resumes_only_the_missing_models(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, capfd):
    models = [tiny_models.honest_onnx.path, tiny_models.honest_torchscript.path]
    manifest = tmp_path / "models.txt"
    manifest.write_text(f"# the batch\n{models[0]}\n\n{models[1]}  # TorchScript\n")
    out = tmp_path / "out"
    args = ("--manifest", str(manifest), "--fail-on-risk", HIGH_RISK_GATE, "--format", "json,sarif", "--no-cache")
    assert scan([], out, *args, labels=labels_csv, aux=aux_npz) == EXIT_PASSED
    first = {m.stem: (out / f"{m.stem}.json").read_text() for m in models}
    (out / f"{models[1].stem}.json").unlink()  # as if the batch was killed before the second model's report
    capfd.readouterr()

    assert scan([], out, *args, labels=labels_csv, aux=aux_npz) == EXIT_PASSED
    err = capfd.readouterr().err
    assert f"{SKIPPED}{models[0]}" in err and f"{SKIPPED}{models[1]}" not in err
    assert (out / f"{models[0].stem}.json").read_text() == first[models[0].stem]  # not rewritten
    resumed = json.loads((out / f"{models[1].stem}.json").read_text())
    assert resumed["verdict"] == json.loads(first[models[1].stem])["verdict"]
    sarif = json.loads((out / "modelscan-vicious.sarif").read_text())
    assert len(sarif["runs"]) >= 1  # the skipped model's result is part of the SARIF file again

    assert scan([], out, *args, "--force", labels=labels_csv, aux=aux_npz) == EXIT_PASSED
    assert SKIPPED not in capfd.readouterr().err


def test_other_settings_or_a_changed_model_rescan(tiny_models, labels_csv, tmp_path, tiny_scan, capfd):
    model = tmp_path / "model.onnx"
    model.write_bytes(tiny_models.honest_onnx.path.read_bytes())
    out = tmp_path / "out"
    args = ("--fail-on-risk", HIGH_RISK_GATE, "--format", "json", "--no-cache", "--no-containment")
    scan([model], out, *args, labels=labels_csv)
    capfd.readouterr()
    scan([model], out, *args, "--seed", "1", labels=labels_csv)  # other settings
    assert SKIPPED not in capfd.readouterr().err
    model.write_bytes(tiny_models.vicious_onnx.path.read_bytes())  # another model under the same path
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert SKIPPED not in capfd.readouterr().err
    assert (
        scan([model], out, *args, "--seed", "1", labels=labels_csv)
        == json.loads((out / "model.json").read_text())["verdict"]["exit_code"]
    )
    assert f"{SKIPPED}{model}" in capfd.readouterr().err

    # A report of an older schema, or one scored by a calibration the scan would not load now, is stale: a
    # file that gained the labelled-only fit changes this no-aux scan's P(vicious) and verdict.
    report = out / "model.json"
    document = json.loads(report.read_text())
    report.write_text(json.dumps({**document, "schema_version": "1.3.0"}))
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert SKIPPED not in capfd.readouterr().err
    assert json.loads(report.read_text())["viciousness"]["calibration_data"] == "auxiliary"
    tiny_scan.setenv(CALIBRATION_ENV, str(write_calibration(tmp_path / "refit.json", labelled_only=True)))
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert SKIPPED not in capfd.readouterr().err
    assert json.loads(report.read_text())["viciousness"]["calibration_data"] == "labelled-only"
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert f"{SKIPPED}{model}" in capfd.readouterr().err

    # A held-out record added to (or changed in) the fit: the report's notes would no longer cite it.
    refit = tmp_path / "refit.json"
    calibration = json.loads(refit.read_text())
    record = {"zoo": "z", "threshold": 0.65, "n_honest": 4, "honest_flagged": 1, "n_leaking": 3, "leaking_flagged": 2}
    calibration["modes"]["white-box/labelled-only"]["held_out"] = [record]
    refit.write_text(json.dumps(calibration))
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert SKIPPED not in capfd.readouterr().err
    notes = json.loads(report.read_text())["viciousness"]["notes"]
    assert any(n.endswith("z (P >= 0.65): honest 1/4 flagged, leaking vicious 2/3 flagged") for n in notes)
    scan([model], out, *args, "--seed", "1", labels=labels_csv)
    assert f"{SKIPPED}{model}" in capfd.readouterr().err


def test_a_head_fit_added_to_the_calibration_makes_auto_scans_stale(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, capfd
):
    """`--references auto` chooses its references by whether a head fit exists: a report made without one
    is rescanned once the file has one (and the new report records that it had)."""
    model = tiny_models.honest_onnx.path
    out = tmp_path / "out"
    args = ("--fail-on-risk", HIGH_RISK_GATE, "--format", "json", "--no-cache", "--no-containment")
    scan([model], out, *args, labels=labels_csv, aux=aux_npz)
    report = out / f"{model.stem}.json"
    assert json.loads(report.read_text())["cost"]["head_calibrated"] is False
    capfd.readouterr()
    tiny_scan.setenv(CALIBRATION_ENV, str(write_calibration(tmp_path / "with-head.json", head=True)))
    scan([model], out, *args, labels=labels_csv, aux=aux_npz)
    assert SKIPPED not in capfd.readouterr().err
    rescanned = json.loads(report.read_text())
    assert rescanned["cost"]["head_calibrated"] is True
    assert rescanned["cost"]["reference_method"] == "scratch"  # a tiny model's scratch scan is quick: kept
    scan([model], out, *args, labels=labels_csv, aux=aux_npz)
    assert f"{SKIPPED}{model}" in capfd.readouterr().err
    # --references scratch never depends on the head fit: its report stays up to date either way.
    scratch_out = tmp_path / "scratch"
    scan([model], scratch_out, *args, "--references", "scratch", labels=labels_csv, aux=aux_npz)
    tiny_scan.setenv(CALIBRATION_ENV, str(write_calibration(tmp_path / "without-head.json")))
    capfd.readouterr()
    scan([model], scratch_out, *args, "--references", "scratch", labels=labels_csv, aux=aux_npz)
    assert f"{SKIPPED}{model}" in capfd.readouterr().err
