"""The one exception tree of the project, and its mapping to process exit codes.

Every error a user can cause derives from ``ScanError`` and carries a one-line message;
the CLI prints that line and exits with ``exit_code`` instead of showing a traceback.
"""

from __future__ import annotations

EXIT_PASSED = 0
EXIT_RISK_FOUND = 1
EXIT_SCAN_ERROR = 2
EXIT_NOTHING_SCANNED = 3
EXIT_USAGE_ERROR = 4


class ScanError(Exception):
    """Base of every expected failure; ``str(err)`` is a single line for the user."""

    exit_code = EXIT_SCAN_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ModelLoadError(ScanError):
    """The suspect model file is missing, malformed, unsafe or unsupported."""


class ModelNotTrainableError(ModelLoadError):
    """No trainable PyTorch copy can be made of the model (white-box checks are skipped)."""


class InputShapeError(ModelLoadError):
    """The model's input shape cannot be inferred, or the model rejects it."""


class ResourceLimitError(ScanError):
    """The scan of one model reached its time or memory limit and was stopped."""


class ContainmentError(ScanError):
    """The model could not be run in its sandbox (missing kernel features, or the worker failed)."""


class DataLoadError(ScanError):
    """A labelled CSV, auxiliary data file or image is missing or malformed."""


class DetectorError(ScanError):
    """A viciousness detector failed on this model."""


class AttackError(ScanError):
    """A reconstruction attack failed on this model."""


class ReportError(ScanError):
    """A report could not be written."""


class UsageError(ScanError):
    """Command-line arguments or configuration values are invalid."""

    exit_code = EXIT_USAGE_ERROR


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an exception's message, or its type name when it has none."""
    for line in str(err).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(err).__name__


# What PyTorch, onnxruntime and NumPy say when an allocation fails under the memory limit (RLIMIT_AS).
_ALLOCATION_FAILURES = (
    "can't allocate memory",
    "cannot allocate memory",
    "bad_alloc",
    "failed to allocate",
    "out of memory",
    "unable to allocate",
)


def raise_if_out_of_memory(path: object, err: BaseException) -> None:
    """Turn an allocation failure inside the model into the memory-limit error the user can act on."""
    if isinstance(err, MemoryError) or any(s in str(err).lower() for s in _ALLOCATION_FAILURES):
        raise ResourceLimitError(f"{path}: the model exceeded the scan's memory limit (--max-memory)") from err
