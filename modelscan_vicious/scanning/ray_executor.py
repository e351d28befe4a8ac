"""`--executor ray`: one Ray task per model, on a local cluster or the one at `--ray-address`.

Each task runs exactly what the local pool runs for one model (`parallel.py`): the contained worker
is started by the task, on whichever node the task lands, so containment holds there as it does
here, and the reference cache is the task's node's `--cache-dir`. A task asks Ray for
CPUS_PER_SCAN[budget] CPUs (capped at the cluster's) and runs PyTorch with that many threads; with
`--device cuda` it also asks for one GPU. A task's result is the same as a sequential scan's run
with the same number of threads (thread count changes float sums). Results are yielded in the order
the models were given.

A real cluster needs modelscan-vicious (same version) installed on every node, and the models, the
data and the cache folder at the same paths on every node (a shared file system); relative paths are
resolved against the caller's working directory, which the task enters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.errors import ContainmentError, ScanError, UsageError
from modelscan_vicious.results import ScanResult

# Tiny classifiers gain little from intra-op threads; longer budgets train larger reference sets.
CPUS_PER_SCAN = {"fast": 1, "standard": 2, "thorough": 4}
# Settings of ours a task needs from the caller's environment (calibration file, debug logs).
_PASSED_ENVIRONMENT_PREFIX = "MODELSCAN_VICIOUS_"
INSTALL_HINT = "--executor ray needs Ray: pip install 'modelscan-vicious[ray]'"


def import_ray() -> Any:
    """Ray, imported lazily; a usage error with the install hint when it is missing."""
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def task_resources(config: ScanConfig, cluster_cpus: float | None) -> dict[str, float]:
    """Ray resources of one scan task: CPUs by budget (at most the cluster's), a GPU for CUDA scans."""
    cpus = float(CPUS_PER_SCAN.get(config.budget.name, 1))
    if cluster_cpus:
        cpus = max(1.0, min(cpus, float(cluster_cpus)))
    return {"num_cpus": cpus, "num_gpus": 1.0 if config.device == "cuda" else 0.0}


def scan_on_ray(models: list[Path], config: ScanConfig) -> Iterator[tuple[int, Path, ScanResult | ScanError]]:
    """Yield (index, path, result or input error) in the order given, scanning on the Ray cluster."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=config.ray_address, include_dashboard=False, logging_level="WARNING")
    try:
        resources = task_resources(config, ray.cluster_resources().get("CPU"))
        environment = {k: v for k, v in os.environ.items() if k.startswith(_PASSED_ENVIRONMENT_PREFIX)}
        task = ray.remote(scan_task).options(
            **resources, max_retries=0, runtime_env={"env_vars": environment} if environment else None
        )
        threads = int(resources["num_cpus"])
        pending = [task.remote(path, config, os.getcwd(), threads) for path in models]
        for index, (path, reference) in enumerate(zip(models, pending)):
            yield index, path, _outcome(ray, path, reference)
    finally:
        if started_here:
            ray.shutdown()


def scan_task(path: Path, config: ScanConfig, cwd: str, threads: int) -> ScanResult | ScanError:
    """One model's scan inside a Ray task: the caller's working directory and thread count, then the
    same contained scan as the local pool."""
    from modelscan_vicious.scanning.parallel import limit_threads, scan_or_error

    os.chdir(cwd)
    limit_threads(threads)
    return scan_or_error(path, config)


def _outcome(ray: Any, path: Path, reference: Any) -> ScanResult | ScanError:
    try:
        outcome = ray.get(reference)
    except ray.exceptions.RayError as err:  # the task itself died (node lost, worker killed)
        lines = str(err).strip().splitlines()
        return ContainmentError(f"{path}: the Ray task failed ({lines[-1] if lines else type(err).__name__})")
    if not isinstance(outcome, (ScanResult, ScanError)):
        return ContainmentError(f"{path}: the Ray task returned no scan result")
    return outcome
