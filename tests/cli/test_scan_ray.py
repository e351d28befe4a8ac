"""`--executor ray`: one contained scan per Ray task on a local cluster gives the sequential scans' reports."""

from __future__ import annotations

import json

import pytest

from modelscan_vicious.errors import EXIT_SCAN_ERROR, UsageError

from scan_helpers import HIGH_RISK_GATE, scan

VOLATILE = ("timings", "reference_cache", "cost")  # differ between otherwise identical scans


@pytest.fixture
def local_ray(tiny_scan):
    """A 2-CPU local cluster, started after the tiny settings so its workers inherit the calibration.

    One PyTorch thread for the sequential scans too: a Ray task of the fast budget runs one thread, and
    float sums come out bit-identical only with the same thread count. A sequential scan's worker takes
    this process's thread count, which OMP_NUM_THREADS no longer changes once torch is imported (as it is
    after the rest of the suite: the cause of an earlier order-dependent mismatch), so set it directly."""
    import torch

    ray = pytest.importorskip("ray")
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()
        torch.set_num_threads(threads_before)


@pytest.mark.slow
def test_ray_tasks_give_the_sequential_reports(tiny_models, labels_csv, aux_npz, tmp_path, local_ray):
    models = [tiny_models.honest_onnx.path, tiny_models.vicious_torchscript.path]
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model")
    args = ("--fail-on-risk", HIGH_RISK_GATE, "--format", "json", "--no-cache")
    sequential = scan([*models, corrupt], tmp_path / "seq", *args, labels=labels_csv, aux=aux_npz)
    on_ray = scan([*models, corrupt], tmp_path / "ray", *args, "--executor", "ray", labels=labels_csv, aux=aux_npz)
    assert sequential == on_ray == EXIT_SCAN_ERROR  # the corrupt model's error, in both
    for model in models:
        seq, par = (json.loads((tmp_path / run / f"{model.stem}.json").read_text()) for run in ("seq", "ray"))
        assert par["containment"]["mechanisms"]  # contained inside the task
        assert par["settings"].pop("sources")["executor"] == "flag"  # the one setting that differs
        seq["settings"].pop("sources")
        assert par["environment"]["torch_threads"] == seq["environment"]["torch_threads"] == 1
        assert {k: v for k, v in par.items() if k not in VOLATILE} == {
            k: v for k, v in seq.items() if k not in VOLATILE
        }
    assert not (tmp_path / "ray" / "corrupt.json").exists()


def test_task_resources_follow_budget_and_device():
    from modelscan_vicious.config import BUDGETS, ScanConfig
    from modelscan_vicious.scanning.ray_executor import task_resources

    config = ScanConfig(labels="l.csv", budget=BUDGETS["thorough"])  # type: ignore[arg-type]
    assert task_resources(config, cluster_cpus=2) == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert task_resources(ScanConfig(labels="l.csv", device="cuda"), None) == {"num_cpus": 1.0, "num_gpus": 1.0}  # type: ignore[arg-type]


def test_a_missing_ray_is_a_usage_error_with_the_install_hint(monkeypatch):
    import builtins

    from modelscan_vicious.scanning import ray_executor

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UsageError, match=r"pip install 'modelscan-vicious\[ray\]'"):
        ray_executor.import_ray()
