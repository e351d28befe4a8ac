"""Write a file all at once or not at all, so a report, CSV or manifest is never half-written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from modelscan_vicious.errors import ReportError


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory, fsync, rename.

    Text is encoded as UTF-8. On any failure the temp file is removed, an existing file at
    ``path`` is left untouched, and ``ReportError`` is raised with a one-line message.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp_name: str | None = None
    try:
        fd, tmp_name = _create_temp(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_directory(path.parent)
    except Exception as err:  # any failure must surface as a one-line ReportError
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ReportError(f"cannot write {path}: {reason or type(err).__name__}") from err
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _create_temp(path: Path) -> tuple[int, str]:
    """Open a fresh hidden file next to ``path``. Unlike ``tempfile.mkstemp`` (always 0600)
    it is created with mode 0666 less the umask, so the report gets ordinary permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort, since some platforms cannot open directories."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
