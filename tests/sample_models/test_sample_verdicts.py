"""The quick start's real case: the bundled MNIST samples gate as they should, with and without --aux.

Real, contained scans at the default budget and calibration (no test settings), so this is what a
new user sees (about a minute per scan on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR

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
    if with_aux:
        assert codes["mnist-honest-cnn"] == EXIT_PASSED
    else:
        # Without auxiliary data the claim is lowered, never passed (README, "Limitations"): no gate trips,
        # and the verdict says why it is not a full check.
        assert codes["mnist-honest-cnn"] == EXIT_SCAN_ERROR
        assert "no auxiliary inputs" in honest["verdict"]["reasons"][0]
