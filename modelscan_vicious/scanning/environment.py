"""Versions, device and thread count recorded in every report, so numbers can be reproduced."""

from __future__ import annotations

import platform
from importlib import metadata

from modelscan_vicious import __version__

_PACKAGES = ("torch", "numpy", "scikit-learn", "onnx", "onnxruntime", "onnxruntime-gpu", "pytorch-msssim")


def environment(device: str) -> dict:
    import torch

    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "tool_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        # The thread count changes float sums (and so the last digits of every number): record it.
        "torch_threads": torch.get_num_threads(),
        "packages": versions,
    }
