"""Exporting trained classifiers and decoders to the formats the scanner accepts."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

EXPORT_FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 17


def export_model(module: nn.Module, input_shape: tuple[int, ...], path: Path, fmt: str) -> None:
    """Write `module` (in eval mode) to `path` as ONNX (dynamic batch) or traced TorchScript."""
    module = module.eval()
    example = torch.zeros(2, *input_shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,  # the TorchScript-based exporter needs no onnxscript and gives plain opset graphs
                opset_version=ONNX_OPSET,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            )
    elif fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(module, example)
        torch.jit.save(traced, str(path))
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def model_suffix(fmt: str) -> str:
    return ".onnx" if fmt == "onnx" else ".pt"
