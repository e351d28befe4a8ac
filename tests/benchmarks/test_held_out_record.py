"""`detect --record-held-out`: a held-out zoo's counts written into the calibration file scans cite."""

from __future__ import annotations

import json

from benchmarks import calibrate, detect
from benchmarks.errors import EXIT_BAD_INPUT, run_main
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV, calibration_for_scan

NO_AUX = "white-box/labelled-only"
OTHER_ZOO = {
    "zoo": "other",
    "threshold": 0.65,
    "n_honest": 9,
    "honest_flagged": 0,
    "n_leaking": 9,
    "leaking_flagged": 9,
}


def _row(name: str, label: str, probability: float, decoder_ssim: float, mode: str = NO_AUX) -> dict:
    return {
        "name": name,
        "label": label,
        "architecture": "cnn",
        "decoder_ssim": decoder_ssim,
        "probability": probability,
        "report": f"benchmarks/out/zoo/reports/{name}.json",
        "calibration_mode": mode,
    }


def _calibration(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    entry = {"features": ["inversion_gain"], "coef": [1.0], "intercept": 0.0}
    modes = {"white-box": entry, "black-box": entry, NO_AUX: {**entry, "held_out": [OTHER_ZOO]}}
    path.write_text(json.dumps({"provenance": {}, "modes": modes}))
    monkeypatch.setenv(CALIBRATION_ENV, str(path))
    return path


def test_each_mode_gets_the_counts_of_its_own_scans_at_the_default_gate(tmp_path, monkeypatch):
    path = _calibration(tmp_path, monkeypatch)
    rows = [
        _row("h1", "honest", 0.70, 0.30),  # flagged
        _row("h2", "honest", 0.10, 0.32),
        _row("v-leaks", "vicious", 0.90, 0.45),  # leaks, flagged
        _row("v-leaks-missed", "vicious", 0.20, 0.40),  # leaks, missed
        _row("v-no-leak", "vicious", 0.99, 0.31),  # flagged but leaks no more than h2: not counted
        _row("h-black", "honest", 0.90, 0.30, mode="black-box"),  # flagged, in the other mode only
    ]
    detect.record_held_out("test zoo", rows)
    modes = json.loads(path.read_text())["modes"]
    assert "held_out" not in modes["white-box"]
    assert modes[NO_AUX]["held_out"] == [
        OTHER_ZOO,  # another zoo's record stays
        {
            "zoo": "test zoo",
            "threshold": 0.65,
            "n_honest": 2,
            "honest_flagged": 1,
            "n_leaking": 2,
            "leaking_flagged": 1,
        },
    ]
    assert modes["black-box"]["held_out"] == [
        {"zoo": "test zoo", "threshold": 0.65, "n_honest": 1, "honest_flagged": 1, "n_leaking": 0, "leaking_flagged": 0}
    ]
    note = calibration_for_scan("white-box", labelled_only=True).notes[-1]
    assert note.endswith(
        "other (P >= 0.65): honest 0/9 flagged, leaking vicious 9/9 flagged; "
        "test zoo (P >= 0.65): honest 1/2 flagged, leaking vicious 1/2 flagged"
    )

    rows[1]["probability"] = 0.80  # a rescan of the same zoo replaces its record
    detect.record_held_out("test zoo", rows)
    held_out = json.loads(path.read_text())["modes"][NO_AUX]["held_out"]
    assert [(c["zoo"], c["honest_flagged"]) for c in held_out] == [("other", 0), ("test zoo", 2)]


def test_refitting_a_mode_drops_its_records_and_keeps_the_others(tmp_path, monkeypatch):
    path = _calibration(tmp_path, monkeypatch)
    document = json.loads(path.read_text())
    document["modes"]["white-box"]["held_out"] = [OTHER_ZOO]
    rows = [
        {"name": f"{label}{i}", "label": label, "z": {"inversion_gain": float(i + (3 if label == "vicious" else 0))}}
        for label in ("honest", "vicious")
        for i in range(4)
    ]
    document["modes"].update(calibrate.labelled_only_modes(rows, "refit"))
    assert "held_out" not in document["modes"][NO_AUX]  # the refit mode: its record described another fit
    assert document["modes"]["white-box"]["held_out"] == [OTHER_ZOO]


def test_recording_needs_the_recomputed_probabilities(tmp_path, capsys):
    argv = ["--scans", str(tmp_path / "s.json"), "--section", "x", "--record-held-out", "zoo"]
    assert run_main(lambda: detect.main(argv)) == EXIT_BAD_INPUT
    assert "needs --recompute" in capsys.readouterr().err
