"""The fixture manifest: one JSON list of entries describing every exported fixture."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelscan_vicious.atomic_file import write_atomic
from modelscan_vicious.errors import DataLoadError, ReportError


def read_manifest(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataLoadError(f"{path}: manifest is not valid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(entries, list):
        raise DataLoadError(f"{path}: manifest must be a JSON list of fixture entries")
    return entries


def upsert_entry(path: Path, entry: dict[str, Any]) -> None:
    """Add `entry`, replacing an older entry for the same file, and rewrite the manifest atomically.

    The read-modify-write holds a lock, so fixtures built in parallel into one folder keep every entry.
    """
    with _exclusive(path.with_name(path.name + ".lock")):
        entries = [e for e in read_manifest(path) if e.get("file") != entry["file"]]
        entries.append(entry)
        write_atomic(path, json.dumps(entries, indent=2, sort_keys=True) + "\n")


@contextmanager
def _exclusive(lock_path: Path):
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; build fixtures one at a time there
        yield
        return
    try:
        handle = open(lock_path, "a")
    except OSError as err:
        raise ReportError(f"cannot write manifest {lock_path.with_suffix('')}: {err.strerror or err}") from err
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
