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
