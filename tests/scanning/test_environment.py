"""Every report records versions and device."""

from __future__ import annotations

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.scanning.environment import environment


def test_environment_records_tool_and_library_versions():
    env = environment("cpu")
    assert env["tool_version"] == __version__ and env["device"] == "cpu"
    assert env["packages"]["numpy"] == np.__version__
    assert {"torch", "onnx", "scikit-learn"} <= set(env["packages"])
    assert env["python"].count(".") == 2


def test_environment_records_the_thread_count_that_shapes_float_sums():
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert environment("cpu")["torch_threads"] == 1
    finally:
        torch.set_num_threads(before)
