"""Our ONNX -> PyTorch converter on the real architectures the `onnx` wheel ships (light zoo models).

For each: parameters of the trainable copy, conversion time (best of 3), and the largest difference
from onnxruntime at batch 2 on seeded inputs, with the weights as shipped (all 0.02: a uniform softmax)
and with seeded random weights (`tests/loading/test_onnx_converter.py::_light`), which makes the
comparison meaningful. One PyTorch thread.

    OMP_NUM_THREADS=1 python -m benchmarks.onnx_conversion
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.markdown import table, update_section

TESTS = Path(__file__).resolve().parents[1] / "tests" / "loading"
NAMES = (
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
)
COMMAND = "OMP_NUM_THREADS=1 python -m benchmarks.onnx_conversion"


def measure(name: str) -> list:
    import onnx
    import torch
    from onnx_checks import onnxruntime_outputs, squeeze_trailing
    from test_onnx_converter import LIGHT, _light

    from modelscan_vicious.loading.onnx_to_torch import onnx_to_torch

    shipped = onnx.load(str(LIGHT / f"light_{name}.onnx"))
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        module = onnx_to_torch(shipped)
        seconds.append(time.perf_counter() - start)
    parameters = sum(p.numel() for p in module.parameters())
    inputs = np.random.default_rng(0).random((2, 3, 224, 224), dtype=np.float32)
    differences = []
    for model in (shipped, _light(name)):
        converted = onnx_to_torch(model).eval()
        with torch.no_grad():
            ours = squeeze_trailing(converted(torch.from_numpy(inputs)).numpy())
        differences.append(float(np.abs(ours - squeeze_trailing(onnxruntime_outputs(model, inputs))).max()))
    return [name, f"{parameters:,}", f"{min(seconds):.2f}", f"{differences[0]:.1e}", f"{differences[1]:.1e}"]


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(TESTS))  # the test helpers that build the random-weight variants
    rows = [measure(name) for name in NAMES]
    header = ["model", "parameters", "conversion s", "max abs diff, shipped weights", "max abs diff, random weights"]
    body = f"Command: `{COMMAND}`\n\n" + table(header, rows)
    update_section("onnx-conversion", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
