"""End to end on the shipped sample models with the shipped calibration and the real `fast` budget."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
SHIPPED_CALIBRATION = Path(str(resources.files("modelscan_vicious").joinpath("calibration.json")))


@pytest.mark.slow
@pytest.mark.skipif(
    not SHIPPED_CALIBRATION.is_file(),
    reason=f"{SHIPPED_CALIBRATION} does not exist yet (benchmarks/calibrate.py generates it)",
)
def test_sample_models_with_the_shipped_calibration(tmp_path, monkeypatch):
    monkeypatch.delenv(CALIBRATION_ENV, raising=False)
    for name, expected in (("vicious-cnn.onnx", EXIT_RISK_FOUND), ("honest-cnn.onnx", EXIT_PASSED)):
        rc = main(
            [
                "scan",
                str(SAMPLES / name),
                "--labels",
                str(SAMPLES / "digits_labels.csv"),
                "--aux",
                str(SAMPLES / "digits_aux.npz"),
                "--output-dir",
                str(tmp_path),
                "--budget",
                "fast",
                "-q",
            ]
        )
        doc = json.loads((tmp_path / f"{Path(name).stem}.json").read_text())
        assert rc == expected, (name, doc["verdict"])
        assert doc["viciousness"]["mode"] == "white-box"
        notes = doc["viciousness"]["notes"]
        assert not any("labelled rows, fewer" in note for note in notes)  # 200 rows, as calibrated
        assert any(
            note.startswith("references trained with the recipes standard, weight-decay, short") for note in notes
        )
