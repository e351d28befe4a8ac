"""The contained worker's own restrictions, applied by the worker to itself before it touches the model.

Order matters: a new network namespace can only be entered while the process is single-threaded,
limits must hold before the first allocation the model controls, and Landlock rules must name
every library folder before the first import that follows them.

- network: a fresh network namespace (unshare; a user namespace too when not root) has no
  interface but a downed loopback, so nothing can be reached; Landlock ABI 4+ also denies TCP.
- memory, CPU time, file size, core dumps: rlimits (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_CORE).
- files: Landlock; read-only access to the Python installation and system libraries, to the model
  and the data the user named; write access only to the worker's private scratch folder.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from modelscan_vicious.containment import landlock

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
# Read-only system locations a Python process with PyTorch needs after start-up: shared libraries,
# the loader cache, and CPU/memory facts the thread pools read. /etc, /home and /tmp stay closed.
SYSTEM_READ_PATHS = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/etc/ld.so.cache",
    "/proc/self",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/urandom",
)
CUDA_PATHS = (
    "/dev/nvidiactl",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
    "/dev/nvidia0",
    "/dev/nvidia1",
    "/dev/nvidia2",
    "/dev/nvidia3",
    "/dev/nvidia4",
    "/dev/nvidia5",
    "/dev/nvidia6",
    "/dev/nvidia7",
    "/proc/driver/nvidia",
    "/sys/bus/pci",
    "/sys/devices",
)
MAX_WRITTEN_FILE_BYTES = 4 << 30  # RLIMIT_FSIZE: the worker writes a result, never a model-sized file


@dataclass(frozen=True)
class SandboxSpec:
    """What one contained worker may touch."""

    read_paths: tuple[str, ...]  # the model (and its vetted external data) and the data the user named
    scratch: str  # the only writable folder
    max_memory_bytes: int
    cpu_seconds: int
    cuda: bool = False


def isolate_network() -> list[str]:
    """Enter a new, empty network namespace; [] where the kernel refuses (recorded as missing)."""
    if sys.platform != "linux":
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    if libc.unshare(flags) != 0:
        return []
    return ["network-namespace"]


def apply_rlimits(spec: SandboxSpec) -> list[str]:
    applied = []
    # CUDA maps far more address space than it touches, so on a GPU the parent's resident-memory
    # watchdog enforces the bound instead (runner.py).
    if not spec.cuda:
        resource.setrlimit(resource.RLIMIT_AS, (spec.max_memory_bytes, spec.max_memory_bytes))
        applied.append("rlimit-address-space")
    resource.setrlimit(resource.RLIMIT_CPU, (spec.cpu_seconds, spec.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_WRITTEN_FILE_BYTES, MAX_WRITTEN_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return [*applied, "rlimit-cpu", "rlimit-file-size", "no-core-dumps"]


def restrict_files(spec: SandboxSpec, read_paths: tuple[str, ...]) -> list[str]:
    """One Landlock layer: `read_paths` plus the libraries readable, the scratch folder writable.

    Called twice: first with the model's folder readable (the static checks look for external data
    there), then, once they named the files, with only the model and those files. Landlock layers
    only narrow what earlier layers allowed.
    """
    rules = [landlock.PathRule(p, landlock.READ) for p in (*library_paths(), *SYSTEM_READ_PATHS, *read_paths)]
    rules.append(landlock.PathRule(spec.scratch, landlock.READ | landlock.WRITE))
    rules.append(landlock.PathRule("/dev/null", landlock.FS_READ_FILE | landlock.FS_WRITE_FILE))
    if spec.cuda:
        rules += [landlock.PathRule(p, landlock.READ | landlock.FS_WRITE_FILE) for p in CUDA_PATHS]
    return landlock.restrict(rules)


def library_paths() -> list[str]:
    """Where this interpreter imports from: its prefixes, sys.path and this package's own folders
    (an editable install maps `modelscan_vicious.attacks` to a folder outside the package)."""
    import modelscan_vicious
    import modelscan_vicious.attacks
    import modelscan_vicious.detectors

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *filter(None, sys.path)}
    for package in (modelscan_vicious, modelscan_vicious.attacks, modelscan_vicious.detectors):
        paths.update(package.__path__)
    return sorted(p for p in paths if Path(p).exists())
