"""A scan trains TorchScript copies with plain execution, and leaves the caller's setting alone."""

from __future__ import annotations

import pytest
import torch

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.errors import DataLoadError
from modelscan_vicious.scanning import pipeline


def test_scan_runs_without_the_profiling_executor_and_restores_it(monkeypatch, tmp_path):
    seen = []

    def fake_load(path, config):
        seen.append(torch._C._get_graph_executor_optimize())
        raise DataLoadError("stop here")

    monkeypatch.setattr(pipeline, "_load", fake_load)
    before = torch._C._get_graph_executor_optimize()
    with pytest.raises(DataLoadError):
        pipeline.scan_model(tmp_path / "m.pt", ScanConfig(labels=tmp_path / "l.csv"))
    assert seen == [False]
    assert torch._C._get_graph_executor_optimize() == before
