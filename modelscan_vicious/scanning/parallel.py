"""Scanning many models: one after another, in parallel worker processes with `--jobs N`, or as tasks
on a Ray cluster with `--executor ray` (`ray_executor.py`). Every path scans a model the same way,
contained unless the config says otherwise, with the reference cache when one is configured.

Each worker gets cores // jobs PyTorch threads: oversubscribed OpenMP threads spin-wait for each
other, which we measured slowing a scan down 10-40x on a 2-core machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.errors import ScanError
from modelscan_vicious.results import ScanResult
from modelscan_vicious.scanning.pipeline import scan_model
from modelscan_vicious.scanning.stages import StageCallback

Outcome = ScanResult | ScanError


def scan_many(
    models: list[Path], config: ScanConfig, stage_reporter: Callable[[int, Path], AbstractContextManager[StageCallback]]
) -> Iterator[tuple[int, Path, Outcome]]:
    """Yield (index, path, result or input error) in the order the models were given."""
    if config.executor == "ray" and models:
        from modelscan_vicious.scanning.ray_executor import scan_on_ray

        yield from scan_on_ray(models, config)
        return
    if config.jobs <= 1 or len(models) <= 1:
        for index, path in enumerate(models):
            with stage_reporter(index, path) as on_stage:
                yield index, path, scan_or_error(path, config, on_stage)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    workers = min(config.jobs, len(models))
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=limit_threads, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(scan_or_error, path, config) for path in models]
        for index, (path, future) in enumerate(zip(models, futures)):
            yield index, path, future.result()


def scan_one(path: Path, config: ScanConfig, on_stage: StageCallback = lambda _: None) -> ScanResult:
    """One model's scan, contained unless the config says otherwise; bad input raises its ScanError."""
    outcome = scan_or_error(path, config, on_stage)
    if isinstance(outcome, ScanError):
        raise outcome
    return outcome


def scan_or_error(path: Path, config: ScanConfig, on_stage=lambda _: None) -> Outcome:
    """One model's scan, contained unless the config says otherwise; what every executor runs per model."""
    from modelscan_vicious.containment.runner import scan_contained

    try:
        if config.containment:
            return scan_contained(path, config, on_stage=on_stage)
        return _scan_in_process(path, config, on_stage)
    except ScanError as err:  # returned, not raised: it crosses the process boundary as a value
        return err


def _scan_in_process(path: Path, config: ScanConfig, on_stage: StageCallback) -> ScanResult:
    """Uncontained (--no-containment: trusted models only), with the cache folder used directly."""
    from dataclasses import replace

    from modelscan_vicious.scanning.reference_cache import DirectoryCache, cache_report, using_cache

    cache = DirectoryCache(config.cache_dir) if config.cache_dir is not None else None
    with using_cache(cache):
        result = scan_model(path, config, on_stage=on_stage)
    return replace(result, reference_cache=cache_report(cache.uses if cache is not None else None))


def limit_threads(threads: int) -> None:
    """Worker initializer: this process's PyTorch thread count."""
    import torch

    torch.set_num_threads(threads)


@contextmanager
def threads_for(threads: int) -> Iterator[None]:
    """This process's PyTorch thread count set to `threads` inside the block and given back after:
    trained weights depend on it, so work that must repeat sets it rather than inherit it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
