"""Where the kernel lacks Landlock or namespaces the scan refuses, unless the user accepts the weaker mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.containment import landlock, sandbox, worker
from modelscan_vicious.containment.sandbox import SandboxSpec
from modelscan_vicious.errors import ContainmentError


def _request(tmp_path: Path, allow_weak: bool) -> worker.WorkerRequest:
    spec = SandboxSpec(read_paths=(), scratch=str(tmp_path), max_memory_bytes=3 << 30, cpu_seconds=60)
    return worker.WorkerRequest(
        model=tmp_path / "m.onnx",
        config=ScanConfig(labels=tmp_path / "l.csv"),
        sandbox=spec,
        data_paths=(),
        threads=1,
        allow_weak=allow_weak,
    )


@pytest.fixture
def bare_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform with rlimits only (macOS, old Linux); nothing is applied to the test process itself."""

    def no_landlock(*_args):
        raise landlock.LandlockUnavailable("Landlock is not available on this kernel")

    monkeypatch.setattr(sandbox, "isolate_network", lambda: [])
    monkeypatch.setattr(sandbox, "apply_rlimits", lambda spec: ["rlimit-address-space", "rlimit-cpu"])
    monkeypatch.setattr(sandbox, "restrict_files", no_landlock)


def test_missing_isolation_is_refused_with_the_flag_to_accept_it(tmp_path: Path, bare_kernel: None):
    with pytest.raises(ContainmentError, match="no network or files isolation.*--allow-weak-containment"):
        worker._contain(_request(tmp_path, allow_weak=False))


def test_weak_mode_runs_with_what_remains_and_says_so(tmp_path: Path, bare_kernel: None):
    mechanisms = worker._contain(_request(tmp_path, allow_weak=True))
    assert mechanisms == ["rlimit-address-space", "rlimit-cpu"]
    assert worker.is_weak(mechanisms)
    assert not worker.is_weak(["network-namespace", "landlock-abi-7-filesystem", "rlimit-cpu"])
