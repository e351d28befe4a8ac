"""Same seed, same numbers on a GPU: what a CUDA scan switches on before it runs."""

from __future__ import annotations

import os

import torch

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.scanning import pipeline
from modelscan_vicious.scanning.pipeline import deterministic_cuda


def test_deterministic_cuda_fixes_the_cublas_workspace_and_deterministic_kernels(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    try:
        deterministic_cuda()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()  # an op without one warns, never fails a scan
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def test_a_scan_switches_determinism_on_for_cuda_only(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(pipeline, "deterministic_cuda", lambda: calls.append("cuda"))
    monkeypatch.setattr(pipeline, "_scan_model", lambda path, config, on_stage: config.device)
    for device in ("cpu", "cuda"):
        assert pipeline.scan_model(tmp_path / "m.onnx", ScanConfig(labels=tmp_path / "l.csv", device=device)) == device
    assert calls == ["cuda"]
