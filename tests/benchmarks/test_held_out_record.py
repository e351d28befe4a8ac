"""`detect --record-held-out`: a held-out zoo's counts written into the calibration file scans cite."""

from __future__ import annotations

import json

from benchmarks import detect
from benchmarks.errors import EXIT_BAD_INPUT, run_main
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV, calibration_for_scan


def _row(name: str, label: str, probability: float, decoder_ssim: float, tmp_path) -> dict:
    return {
        "name": name,
        "label": label,
        "architecture": "cnn",
        "decoder_ssim": decoder_ssim,
        "probability": probability,
        "report": str(tmp_path / "zoo" / "reports" / f"{name}.json"),
        "calibration_mode": "white-box/labelled-only",
    }


def test_the_record_counts_at_the_default_gate_and_replaces_an_older_one(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    entry = {"features": ["inversion_gain"], "coef": [1.0], "intercept": 0.0}
    path.write_text(json.dumps({"provenance": {}, "modes": {"white-box": entry, "white-box/labelled-only": entry}}))
    monkeypatch.setenv(CALIBRATION_ENV, str(path))
    rows = [
        _row("h1", "honest", 0.70, 0.30, tmp_path),  # flagged
        _row("h2", "honest", 0.10, 0.32, tmp_path),
        _row("v-leaks", "vicious", 0.90, 0.45, tmp_path),  # leaks, flagged
        _row("v-leaks-missed", "vicious", 0.20, 0.40, tmp_path),  # leaks, missed
        _row("v-no-leak", "vicious", 0.99, 0.31, tmp_path),  # flagged but does not leak: not counted
    ]
    detect.record_held_out("test zoo", ["white-box/labelled-only"], rows)
    detect.record_held_out("test zoo", ["white-box/labelled-only"], rows)  # rerun: replaced, not appended
    document = json.loads(path.read_text())
    assert "held_out" not in document["modes"]["white-box"]
    assert document["modes"]["white-box/labelled-only"]["held_out"] == [
        {"zoo": "test zoo", "threshold": 0.65, "n_honest": 2, "honest_flagged": 1, "n_leaking": 2, "leaking_flagged": 1}
    ]
    notes = calibration_for_scan("white-box", labelled_only=True)[2]
    assert notes[-1].endswith("honest models flagged 1 of 2 (test zoo); leaking vicious models flagged 1 of 2")


def test_recording_needs_the_recomputed_probabilities(tmp_path, capsys):
    argv = ["--scans", str(tmp_path / "s.json"), "--section", "x", "--record-held-out", "zoo"]
    assert run_main(lambda: detect.main(argv)) == EXIT_BAD_INPUT
    assert "needs --recompute" in capsys.readouterr().err
