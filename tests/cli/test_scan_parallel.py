"""`--jobs N`: several models scanned in worker processes give the same reports as one by one."""

from __future__ import annotations

import pytest

from modelscan_vicious.errors import EXIT_SCAN_ERROR

from scan_helpers import HIGH_RISK_GATE, report, scan


def _numbers(doc: dict) -> tuple:
    vic, rec = doc["viciousness"], doc["reconstruction"]
    return (vic["probability"], *(e["z_score"] for e in vic["evidence"]), rec["R"], rec["ssim"])


@pytest.mark.slow
def test_parallel_jobs_match_sequential_scans(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    models = [tiny_models.honest_onnx.path, tiny_models.vicious_torchscript.path]
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model")
    sequential = scan(
        [*models, corrupt], tmp_path / "seq", "--fail-on-risk", HIGH_RISK_GATE, labels=labels_csv, aux=aux_npz
    )
    parallel = scan(
        [*models, corrupt],
        tmp_path / "par",
        "--jobs",
        "2",
        "--fail-on-risk",
        HIGH_RISK_GATE,
        labels=labels_csv,
        aux=aux_npz,
    )
    assert sequential == parallel == EXIT_SCAN_ERROR  # the corrupt model's error is the worst code in both
    for model in models:
        seq, par = report(tmp_path / "seq", model.stem), report(tmp_path / "par", model.stem)
        # workers run with fewer PyTorch threads, which reorders float sums: near-zero z-scores need abs too
        assert _numbers(seq) == pytest.approx(_numbers(par), rel=1e-5, abs=1e-5)
    assert not (tmp_path / "par" / "corrupt.json").exists()


def test_jobs_below_one_is_a_usage_error(tiny_models, labels_csv, tmp_path, tiny_scan):
    assert scan([tiny_models.honest_onnx.path], tmp_path, "--jobs", "0", labels=labels_csv) == 4
