"""The scanner's side of containment: one worker process per model, bounded in time and memory.

The worker contains itself (sandbox.py); this side starts it with a minimal environment in a new
session, kills the whole session at the wall-clock limit, watches its resident memory (the bound
on a GPU, where RLIMIT_AS cannot hold), and reads its answer as untrusted data (result_codec.py).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.containment.cache_channel import LOOKUP_PREFIX, ScannerCache
from modelscan_vicious.containment.sandbox import SandboxSpec
from modelscan_vicious.containment.worker import OUTCOME_FILE, REQUEST_FILE, STAGE_PREFIX, WorkerRequest
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV
from modelscan_vicious.errors import ContainmentError, ResourceLimitError, ScanError
from modelscan_vicious.results import ScanResult

POLL_SECONDS = 0.05
MAX_OUTCOME_BYTES = 1 << 20
# Passed through to the worker; everything else in the user's environment (tokens, proxies) stays out.
# The numeric libraries' settings must pass: OPENBLAS_CORETYPE alone changed R in the 16th digit.
_PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "MODELSCAN_VICIOUS_DEBUG", CALIBRATION_ENV)
_PASSED_PREFIXES = (
    "OMP_",
    "GOMP_",
    "KMP_",
    "MKL_",
    "OPENBLAS_",
    "NVPL_",
    "DNNL_",
    "ONEDNN_",
    "ATEN_",
    "TORCH_",
    "PYTORCH_",
    "CUDA_",
    "CUBLAS_",
    "CUDNN_",
    "NVIDIA_",
)


def scan_contained(path: Path, config: ScanConfig, on_stage: Callable[[str], None] = lambda _: None) -> ScanResult:
    """Scan one model in a contained worker; raise ScanError (one line) when there is nothing to report.

    The reference cache, when configured, crosses into the worker's scratch folder and back through
    `cache_channel.py`; the worker never sees the cache folder."""
    from dataclasses import replace

    import torch

    from modelscan_vicious.scanning.reference_cache import DirectoryCache

    scratch = Path(tempfile.mkdtemp(prefix="modelscan-vicious-"))
    cache = ScannerCache(DirectoryCache(config.cache_dir) if config.cache_dir is not None else None, scratch)
    try:
        request = WorkerRequest(
            model=path,
            config=config,
            sandbox=_sandbox(scratch, config),
            data_paths=_data_paths(config),
            threads=torch.get_num_threads(),
            allow_weak=config.allow_weak_containment,
        )
        (scratch / REQUEST_FILE).write_bytes(pickle.dumps(request))
        returncode, stopped = _run_worker(scratch, path, config, on_stage, cache)
        try:
            result = _answer(scratch, path, config, returncode, stopped)
        except ScanError:
            _show_worker_log(scratch)
            raise
        worker_cache_status = (_read_outcome(scratch) or {}).get("reference_cache")
        return replace(result, reference_cache=cache.collect(worker_cache_status))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sandbox(scratch: Path, config: ScanConfig) -> SandboxSpec:
    # CPU time is a backstop behind the wall clock: every thread counts, so allow all of them.
    cpu_seconds = int(config.timeout_s * max(os.cpu_count() or 1, 1)) + 30
    return SandboxSpec(
        read_paths=(),
        scratch=str(scratch),
        max_memory_bytes=config.max_memory_bytes,
        cpu_seconds=cpu_seconds,
        cuda=config.device == "cuda",
    )


def _data_paths(config: ScanConfig) -> tuple[str, ...]:
    """The data the user named: the labelled CSV (with its folder when it lists image files), --aux, and a
    calibration file named by the environment."""
    from modelscan_vicious.data.labelled_csv import read_csv_layout

    paths = [str(config.labels.absolute())]
    if os.environ.get(CALIBRATION_ENV):
        paths.append(str(Path(os.environ[CALIBRATION_ENV]).absolute()))
    if read_csv_layout(config.labels).kind == "paths":
        paths.append(str(config.labels.absolute().parent))
    if config.aux is not None and config.aux.exists():
        paths.append(str(config.aux.absolute()))
    return tuple(paths)


def _run_worker(scratch: Path, path: Path, config: ScanConfig, on_stage, cache: ScannerCache) -> tuple[int, str]:
    """Run the worker to its end or to a limit; returns (return code, which limit stopped it or "")."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT or k.startswith(_PASSED_PREFIXES)}
    env.update(HOME=str(scratch), TMPDIR=str(scratch), XDG_CACHE_HOME=str(scratch), MALLOC_ARENA_MAX="2")
    command = [sys.executable, "-I", "-m", "modelscan_vicious.containment.worker", str(scratch)]
    with (scratch / "worker.log").open("wb") as log:
        # The user's folder as working directory, so relative paths mean what they meant to the user
        # (and the report records them as given); Landlock, not the working directory, limits access.
        worker = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,  # the answers to its reference cache lookups
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=os.getcwd(),
            env=env,
            start_new_session=True,
        )
    reader = threading.Thread(target=_forward_stages, args=(worker.stdout, on_stage, cache, worker.stdin), daemon=True)
    reader.start()
    deadline = time.monotonic() + config.timeout_s
    stopped = ""
    while worker.poll() is None:
        if time.monotonic() > deadline:
            stopped = "time"
        elif _resident_bytes(worker.pid) > config.max_memory_bytes:
            stopped = "memory"
        if stopped:
            _kill_session(worker)
            break
        time.sleep(POLL_SECONDS)
    worker.wait()
    reader.join(timeout=5)
    if worker.stdin is not None:
        worker.stdin.close()
    return worker.returncode, stopped


def _forward_stages(stream, on_stage, cache: ScannerCache, reply) -> None:
    for raw in iter(lambda: stream.readline(256), b""):
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith(STAGE_PREFIX):
            on_stage(line[len(STAGE_PREFIX) :])
        elif line.startswith(LOOKUP_PREFIX):
            cache.answer(line, reply)


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0  # not Linux, or the worker just ended: RLIMIT_AS still bounds it


def _kill_session(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _answer(scratch: Path, path: Path, config: ScanConfig, returncode: int, stopped: str) -> ScanResult:
    from modelscan_vicious.containment.result_codec import decode_result

    if stopped == "time" or returncode == -signal.SIGXCPU:
        raise ResourceLimitError(
            f"{path}: the scan exceeded its time limit of {config.timeout_s:g} s (--timeout); stopped"
        )
    if stopped == "memory":
        raise ResourceLimitError(
            f"{path}: the model exceeded the scan's memory limit of "
            f"{_gib(config.max_memory_bytes)} (--max-memory); stopped"
        )
    outcome = _read_outcome(scratch)
    if outcome is None and returncode == -signal.SIGKILL:
        raise ResourceLimitError(f"{path}: the system killed the scan's worker (out of memory?); stopped")
    if outcome is None:
        how = f"signal {signal.Signals(-returncode).name}" if returncode < 0 else f"exit code {returncode}"
        raise ContainmentError(f"{path}: the model crashed the contained worker ({how}); no result")
    if outcome.get("status") != "ok":
        message, code = str(outcome.get("message", "unknown error"))[:1000], outcome.get("exit_code")
        if "memory limit" in message:
            message = message.replace("(--max-memory)", f"of {_gib(config.max_memory_bytes)} (--max-memory)")
        error = ScanError(message)
        error.exit_code = code if code in (2, 3, 4) else 2
        raise error
    return decode_result(scratch)


def _show_worker_log(scratch: Path) -> None:
    """With MODELSCAN_VICIOUS_DEBUG set, the worker's own stderr (tracebacks, warnings) before it is deleted."""
    if os.environ.get("MODELSCAN_VICIOUS_DEBUG"):
        with (scratch / "worker.log").open("rb") as fh:
            sys.stderr.write(fh.read(MAX_OUTCOME_BYTES).decode("utf-8", "replace"))


def _read_outcome(scratch: Path) -> dict | None:
    try:
        with (scratch / OUTCOME_FILE).open("rb") as fh:
            outcome = json.loads(fh.read(MAX_OUTCOME_BYTES))
    except (OSError, ValueError):
        return None
    return outcome if isinstance(outcome, dict) else None


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:g} GiB"
