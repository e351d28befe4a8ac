"""The contained worker: one model's whole scan, run by `runner.py` as `python -I -m ...worker SCRATCH`.

It contains itself first (sandbox.py), then checks the model statically, narrows file access to
the files those checks named, and only then loads and runs the model. It answers through its
scratch folder: `outcome.json` (an error, or "ok" with `result.json` and `examples.npz` beside it);
stage names go to stdout, one per line, for the progress display.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.containment.sandbox import SandboxSpec

REQUEST_FILE = "request.pkl"
OUTCOME_FILE = "outcome.json"
STAGE_PREFIX = "stage "
REQUIRED_MECHANISMS = {"network": "network-namespace", "files": "landlock-abi-"}


@dataclass(frozen=True)
class WorkerRequest:
    """What the scanner asks of one worker. Written by the scanner, read by the worker: pickle is
    safe in this direction only (the worker never sends pickles back)."""

    model: Path
    config: ScanConfig
    sandbox: SandboxSpec
    data_paths: tuple[str, ...]  # the labelled CSV (and its image folder), the auxiliary data
    threads: int
    allow_weak: bool


def main(scratch: Path) -> int:
    request: WorkerRequest = pickle.loads((scratch / REQUEST_FILE).read_bytes())
    try:
        mechanisms = _contain(request)
        _write_outcome(scratch, _scan(request, scratch, mechanisms))
    except BaseException as err:  # every failure becomes an outcome the scanner can read
        if os.environ.get("MODELSCAN_VICIOUS_DEBUG"):
            traceback.print_exc()  # into the worker's log, which the scanner shows in debug mode
        _write_outcome(scratch, _error_outcome(request, err))
    return 0


def _contain(request: WorkerRequest) -> list[str]:
    from modelscan_vicious.containment import landlock, sandbox
    from modelscan_vicious.errors import ContainmentError

    mechanisms = sandbox.isolate_network() + sandbox.apply_rlimits(request.sandbox)
    folder = str(request.model.absolute().parent)
    try:  # first layer: the model's folder readable, so the static checks can vet external data
        mechanisms += sandbox.restrict_files(request.sandbox, (folder, *request.data_paths))
    except landlock.LandlockUnavailable:
        pass
    missing = [
        what for what, prefix in REQUIRED_MECHANISMS.items() if not any(m.startswith(prefix) for m in mechanisms)
    ]
    if missing and not request.allow_weak:
        raise ContainmentError(
            f"cannot contain the model on this system (no {' or '.join(missing)} isolation: needs "
            "Linux with Landlock and user namespaces); pass --allow-weak-containment to scan "
            "with the remaining limits"
        )
    return mechanisms


def _scan(request: WorkerRequest, scratch: Path, mechanisms: list[str]) -> dict:
    from dataclasses import replace

    import torch

    from modelscan_vicious.containment import landlock
    from modelscan_vicious.containment.cache_channel import WorkerCache
    from modelscan_vicious.containment.result_codec import encode_result
    from modelscan_vicious.containment.sandbox import restrict_files
    from modelscan_vicious.loading import inspect_model
    from modelscan_vicious.results import ContainmentInfo
    from modelscan_vicious.scanning.pipeline import scan_model
    from modelscan_vicious.scanning.reference_cache import using_cache

    torch.set_num_threads(request.threads)
    model_files = [request.model.absolute(), *inspect_model(request.model)]  # static checks: nothing runs
    if any(m.startswith("landlock") for m in mechanisms):  # second layer: only the files just vetted
        try:
            restrict_files(request.sandbox, (*map(str, model_files), *request.data_paths))
        except landlock.LandlockUnavailable as err:
            raise RuntimeError(f"narrowing file access failed: {err}") from err
    cache = WorkerCache(scratch) if request.config.cache_dir is not None else None
    with using_cache(cache):
        result = scan_model(request.model, request.config, on_stage=_report_stage)
    containment = ContainmentInfo(
        mechanisms=sorted(set(mechanisms)),
        weak=is_weak(mechanisms),
        timeout_s=float(request.config.timeout_s),
        max_memory_bytes=int(request.sandbox.max_memory_bytes),
        files_read=[str(p) for p in model_files],
    )
    encode_result(replace(result, containment=containment), scratch)
    return {
        "status": "ok",
        "peak_memory_bytes": _peak_memory_bytes(),
        "reference_cache": cache.used if cache is not None else {},
    }


def is_weak(mechanisms: list[str]) -> bool:
    """True when network or file isolation is missing (the user accepted it with --allow-weak-containment)."""
    return any(not any(m.startswith(prefix) for m in mechanisms) for prefix in REQUIRED_MECHANISMS.values())


def _report_stage(stage: str) -> None:
    sys.stdout.write(f"{STAGE_PREFIX}{stage}\n")
    sys.stdout.flush()


def _error_outcome(request: WorkerRequest, err: BaseException) -> dict:
    from modelscan_vicious.errors import EXIT_SCAN_ERROR, ScanError, first_line, raise_if_out_of_memory

    try:
        raise_if_out_of_memory(request.model, err)
    except ScanError as memory_error:
        err = memory_error
    if isinstance(err, ScanError):
        return {"status": "error", "exit_code": err.exit_code, "message": str(err)}
    return {
        "status": "error",
        "exit_code": EXIT_SCAN_ERROR,
        "message": f"internal error in the contained worker: {type(err).__name__}: {first_line(err)}",
    }


def _write_outcome(scratch: Path, outcome: dict) -> None:
    (scratch / OUTCOME_FILE).write_text(json.dumps(outcome), encoding="utf-8")


def _peak_memory_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
