"""Rebuild the bundled sample models with `make-fixture` (fixed seeds).

    python sample_models/build.py

Writes the models, their decoders, digits_labels.csv / digits_aux.npz (scikit-learn's 8x8 digits),
mnist_labels.csv / mnist_aux.npz (a subset of the MNIST test set, LICENSE-MNIST.md; building them needs
../shared/datasets/mnist, scanning them does not) and manifest.json here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from modelscan_vicious.cli import main as cli

HERE = Path(__file__).resolve().parent

MNIST = HERE.parents[1] / "shared" / "datasets" / "mnist" / "t10k-images-idx3-ubyte.gz"
SAMPLES = [
    # name, dataset, data-file prefix, architecture, format, extra flags, seed
    ("honest-cnn", "digits", "digits", "cnn", "onnx", [], 1),
    ("vicious-cnn", "digits", "digits", "cnn", "onnx", ["--beta-r", "3"], 2),
    ("honest-mlp", "digits", "digits", "mlp", "torchscript", [], 3),
    ("vicious-mlp", "digits", "digits", "mlp", "torchscript", ["--beta-r", "3"], 4),
    ("vicious-cnn-softmax", "digits", "digits", "cnn", "onnx", ["--beta-r", "3", "--release", "softmax"], 5),
    # MNIST-size: where honest and vicious differ clearly (on 8x8 digits honest outputs already leak a lot)
    ("mnist-honest-cnn", str(MNIST), "mnist", "cnn", "onnx", ["--epochs", "8"], 11),
    ("mnist-vicious-cnn", str(MNIST), "mnist", "cnn", "onnx", ["--epochs", "8", "--beta-r", "3"], 12),
]


def build(out: Path = HERE) -> None:
    for name, dataset, prefix, arch, fmt, flags, seed in SAMPLES:
        argv = ["make-fixture", "--name", name, "--dataset", dataset, "--architecture", arch, "--format", fmt,
                "--seed", str(seed), "--out-dir", str(out), "--quiet", "--labels-out", str(out / f"{prefix}_labels.csv"),
                "--labels-rows", "200", "--aux-out", str(out / f"{prefix}_aux.npz"), *flags]  # fmt: skip
        if cli(argv) != 0:
            raise SystemExit(f"make-fixture failed for {name}")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
