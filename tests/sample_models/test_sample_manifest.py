"""The bundled sample models: the manifest describes them truthfully, and they rebuild bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.loading import load_model

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())
REQUIRED = {"file", "label", "format", "test_accuracy", "labels_csv", "decoder_file", "seed", "training"}


def test_manifest_has_honest_and_vicious_models_in_both_formats():
    pairs = {(e["label"], e["format"]) for e in MANIFEST}
    assert pairs >= {("honest", "onnx"), ("vicious", "onnx"), ("honest", "torchscript"), ("vicious", "torchscript")}
    for entry in MANIFEST:
        assert REQUIRED <= entry.keys(), entry["name"]
        assert (entry["label"] == "vicious") == (entry["training"]["beta_r"] > 0)
        rows = (SAMPLES / entry["labels_csv"]).read_text().strip().splitlines()
        assert 100 <= len(rows) - 1 <= 200


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_each_sample_loads_with_the_recorded_format_and_output_kind(entry):
    side = 8 if entry["dataset"] == "digits" else 28  # scikit-learn's digits, or the MNIST subset
    model = load_model(SAMPLES / entry["file"], n_pixels=side * side)
    assert model.format == entry["format"]
    assert model.input_shape == (1, side, side) and model.n_outputs == 10
    assert model.output_kind == ("probabilities" if entry["release"] == "softmax" else "logits")


def test_rebuilding_a_sample_with_its_seed_reproduces_its_accuracy(tmp_path):
    entry = next(e for e in MANIFEST if e["name"] == "honest-mlp")
    t = entry["training"]
    code = main(
        [
            "make-fixture",
            "--name",
            entry["name"],
            "--dataset",
            entry["dataset"],
            "--architecture",
            entry["architecture"],
            "--format",
            entry["format"],
            "--seed",
            str(entry["seed"]),
            "--beta-r",
            str(t["beta_r"]),
            "--epochs",
            str(t["epochs"]),
            "--release",
            entry["release"],
            "--out-dir",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    rebuilt = json.loads((tmp_path / "manifest.json").read_text())[0]
    assert rebuilt["test_accuracy"] == entry["test_accuracy"]
    assert rebuilt["decoder_ssim"] == pytest.approx(entry["decoder_ssim"], abs=2e-3)
