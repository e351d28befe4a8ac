"""Write a file all at once or not at all, so a report is never half-written."""

from __future__ import annotations

import os
import tempfile
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
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_directory(path.parent)
    except Exception as err:  # any failure must surface as a one-line ReportError
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ReportError(f"cannot write report {path}: {reason or type(err).__name__}") from err
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


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
