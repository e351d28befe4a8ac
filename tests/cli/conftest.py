"""Fixtures for the CLI tests: the tiny `fast` budget and a calibration that never trips the gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scan_helpers import tiny_scan_settings, write_calibration


@pytest.fixture(scope="session")
def low_calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_calibration(tmp_path_factory.mktemp("calibration") / "low.json")


@pytest.fixture
def tiny_scan(low_calibration: Path) -> Iterator[pytest.MonkeyPatch]:
    """Function-scoped tiny settings; the yielded MonkeyPatch is undone after the test."""
    with tiny_scan_settings(low_calibration) as patch:
        yield patch
