"""`make-fixture` with the standard families (resnet18, mobilenetv2) on RGB and face data, tiny and fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.cli import main
from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.data.datasets import load_dataset
from modelscan_vicious.data.labelled_csv import load_labelled_csv
from modelscan_vicious.errors import EXIT_PASSED, EXIT_USAGE_ERROR
from modelscan_vicious.loading import load_model

pytest.importorskip("skimage")

TINY = ["--width", "4", "--epochs", "1", "--batch-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def patches(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """240 photo-patches (every 21st) as .npz files, 7 classes: {32: 3x32x32, 16: their 3x16x16 means}."""
    data = load_dataset("photo-patches")
    images, labels = data.images[::21], data.labels[::21]
    small = images.reshape(len(images), 3, 16, 2, 16, 2).mean(axis=(3, 5))
    folder = tmp_path_factory.mktemp("data")
    for side, pixels in ((32, images), (16, small)):
        np.savez(folder / f"patches{side}.npz", x=(pixels * 255).round().astype(np.uint8), y=labels)
    return {side: folder / f"patches{side}.npz" for side in (32, 16)}


def _entry(out: Path, name: str) -> dict:
    return next(e for e in json.loads((out / "manifest.json").read_text()) if e["name"] == name)


# At 3x32x32 (3,072 features) the dense Ledoit-Wolf fit behind the fixture's R takes 10-20 s on one
# busy core, so those runs are slow; 3x16x16 exercises the same path in seconds.
@pytest.mark.parametrize(
    ("architecture", "fmt", "side"),
    [
        ("resnet18", "onnx", 16),
        ("mobilenetv2", "torchscript", 16),
        pytest.param("resnet18", "torchscript", 32, marks=pytest.mark.slow),
        pytest.param("mobilenetv2", "onnx", 32, marks=pytest.mark.slow),
    ],
)
def test_rgb_fixture_exports_a_scannable_model(tmp_path, patches, architecture, fmt, side):
    out = tmp_path / "fixtures"
    args = ["--name", "rgb", "--dataset", str(patches[side]), "--architecture", architecture, "--format", fmt]
    extra = [
        "--beta-r",
        "3",
        "--labels-out",
        str(out / "l.csv"),
        "--labels-rows",
        "20",
        "--aux-out",
        str(out / "a.npz"),
    ]
    assert main(["make-fixture", *args, *TINY, *extra, "--out-dir", str(out)]) == EXIT_PASSED
    entry = _entry(out, "rgb")
    assert (entry["architecture"], entry["width"], entry["label"]) == (architecture, 4, "vicious")
    shape = (3, side, side)
    model = load_model(out / entry["file"], input_shape=shape if fmt == "torchscript" else None)
    assert model.input_shape == shape and model.n_outputs == 7
    labelled = load_labelled_csv(out / "l.csv", model.input_shape, model.n_outputs)
    assert labelled.images.shape == (20, *shape)
    assert load_auxiliary(out / "a.npz", model.input_shape).shape[1:] == shape


def test_face_fixture_from_the_named_dataset(tmp_path):
    out = tmp_path / "fixtures"
    args = ["--name", "faces", "--dataset", "lfw-faces", "--architecture", "resnet18", *TINY]
    assert main(["make-fixture", *args, "--out-dir", str(out)]) == EXIT_PASSED
    entry = _entry(out, "faces")
    assert entry["dataset"] == "lfw-faces" and entry["label"] == "honest"
    model = load_model(out / entry["file"])
    assert model.input_shape == (1, 32, 32) and model.n_outputs == 2


def test_width_for_a_small_architecture_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "fixtures"
    assert main(["make-fixture", "--architecture", "cnn", "--width", "8", "--out-dir", str(out)]) == EXIT_USAGE_ERROR
    assert "--width applies to resnet18, mobilenetv2 only, not to 'cnn'" in capsys.readouterr().err
    assert not (out / "manifest.json").exists()
