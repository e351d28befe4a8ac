"""--timeout and --max-memory: parsing, validation and how a stopped worker is reported."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from modelscan_vicious.config import ScanConfig, parse_memory
from modelscan_vicious.containment.runner import _answer
from modelscan_vicious.errors import ContainmentError, ResourceLimitError, UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8G", 8 << 30), ("512M", 512 << 20), ("4096", 4096 << 20), ("2.5GiB", int(2.5 * (1 << 30))), ("3gb", 3 << 30)],
)
def test_parse_memory(text: str, expected: int):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0"])
def test_bad_memory_is_a_usage_error(text: str):
    with pytest.raises(UsageError, match="--max-memory"):
        parse_memory(text)


def test_limits_are_validated_where_they_enter():
    with pytest.raises(UsageError, match="--max-memory must be at least"):
        ScanConfig(labels=Path("l.csv"), max_memory_bytes=512 << 20)
    with pytest.raises(UsageError, match="--timeout"):
        ScanConfig(labels=Path("l.csv"), timeout=0)
    assert ScanConfig(labels=Path("l.csv")).timeout_s == 1800  # the fast budget's default
    assert ScanConfig(labels=Path("l.csv"), timeout=12).timeout_s == 12


@pytest.mark.parametrize(
    ("returncode", "stopped", "error", "words"),
    [
        (-signal.SIGKILL, "time", ResourceLimitError, "time limit of 60 s"),
        (-signal.SIGXCPU, "", ResourceLimitError, "time limit"),
        (-signal.SIGKILL, "memory", ResourceLimitError, "memory limit of 3 GiB"),
        (-signal.SIGKILL, "", ResourceLimitError, "killed"),
        (-signal.SIGSEGV, "", ContainmentError, "crashed the contained worker (signal SIGSEGV)"),
        (1, "", ContainmentError, "exit code 1"),
    ],
)
def test_a_stopped_worker_is_one_line(tmp_path: Path, returncode: int, stopped: str, error: type, words: str):
    config = ScanConfig(labels=Path("l.csv"), timeout=60, max_memory_bytes=3 << 30)
    with pytest.raises(error, match="^m.onnx: ") as err:
        _answer(tmp_path, Path("m.onnx"), config, returncode, stopped)
    assert words in str(err.value) and "\n" not in str(err.value)
