"""The quick start's real case: the bundled MNIST samples gate as they should, with and without --aux.

Real, contained scans at the default budget and calibration (no test settings), so this is what a
new user sees (about a minute per scan on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"


@pytest.mark.slow
@pytest.mark.parametrize("with_aux", [True, False], ids=["aux", "no-aux"])
def test_the_mnist_samples_gate_honest_and_vicious_apart(tmp_path, with_aux):
    aux = ["--aux", str(SAMPLES / "mnist_aux.npz")] if with_aux else []
    codes = {}
    for name in ("mnist-honest-cnn", "mnist-vicious-cnn"):
        argv = ["scan", str(SAMPLES / f"{name}.onnx"), "--labels", str(SAMPLES / "mnist_labels.csv"), *aux]
        argv += ["--output-dir", str(tmp_path), "--format", "json", "--no-cache", "-q"]
        codes[name] = main(argv)
    honest, vicious = (json.loads((tmp_path / f"{n}.json").read_text()) for n in codes)
    assert codes["mnist-vicious-cnn"] == EXIT_RISK_FOUND
    assert vicious["viciousness"]["probability"] >= vicious["settings"]["thresholds"]["fail_on_probability"]
    assert honest["viciousness"]["probability"] < honest["settings"]["thresholds"]["fail_on_probability"]
    # Without --aux the scan takes the calibration fitted on scans without auxiliary data, so it is a full
    # check for that case: the honest sample passes rather than ending inconclusive.
    assert codes["mnist-honest-cnn"] == EXIT_PASSED
    expected = "auxiliary" if with_aux else "labelled-only"
    assert honest["viciousness"]["calibration_data"] == vicious["viciousness"]["calibration_data"] == expected
    assert honest["reconstruction"]["lower_bound"] is (not with_aux)  # R without --aux stays a lower bound
