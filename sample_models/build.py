"""Rebuild the bundled sample models with `make-fixture` (digits, fixed seeds).

    python sample_models/build.py

Writes the models, their decoders, digits_labels.csv, digits_aux.npz and manifest.json here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from modelscan_vicious.cli import main as cli

HERE = Path(__file__).resolve().parent

SAMPLES = [
    # name, architecture, format, extra flags, seed
    ("honest-cnn", "cnn", "onnx", [], 1),
    ("vicious-cnn", "cnn", "onnx", ["--beta-r", "3"], 2),
    ("honest-mlp", "mlp", "torchscript", [], 3),
    ("vicious-mlp", "mlp", "torchscript", ["--beta-r", "3"], 4),
    ("vicious-cnn-softmax", "cnn", "onnx", ["--beta-r", "3", "--release", "softmax"], 5),
]


def build(out: Path = HERE) -> None:
    for name, arch, fmt, flags, seed in SAMPLES:
        argv = ["make-fixture", "--name", name, "--dataset", "digits", "--architecture", arch, "--format", fmt,
                "--seed", str(seed), "--out-dir", str(out), "--quiet", "--labels-out", str(out / "digits_labels.csv"),
                "--labels-rows", "200", "--aux-out", str(out / "digits_aux.npz"), *flags]  # fmt: skip
        if cli(argv) != 0:
            raise SystemExit(f"make-fixture failed for {name}")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
