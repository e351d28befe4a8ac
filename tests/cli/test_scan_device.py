"""`--device`: CUDA when asked and present; a clear usage error when asked and absent."""

from __future__ import annotations

import pytest
import torch

from modelscan_vicious.errors import EXIT_PASSED, EXIT_USAGE_ERROR

from scan_helpers import HIGH_RISK_GATE, report, scan


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_a_gpu_is_a_usage_error(tiny_models, labels_csv, tmp_path, tiny_scan, capsys):
    rc = scan([tiny_models.honest_onnx.path], tmp_path, "--device", "cuda", labels=labels_csv)
    assert rc == EXIT_USAGE_ERROR
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_scan_on_cuda_records_the_device(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    model = tiny_models.vicious_torchscript.path
    rc = scan([model], tmp_path, "--device", "cuda", "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz)
    doc = report(tmp_path, model.stem)
    assert rc == EXIT_PASSED and doc["environment"]["device"] == doc["settings"]["device"] == "cuda"
