"""Atomic writes: complete file or the old one untouched, never a stray temp file."""

from __future__ import annotations

import os

import pytest

from modelscan_vicious.atomic_file import write_atomic
from modelscan_vicious.errors import ReportError


def test_writes_text_and_bytes(tmp_path):
    write_atomic(tmp_path / "a.txt", "héllo\n")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text("utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_replaces_existing_file(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_failed_rename_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ReportError, match="No space left on device") as info:
        write_atomic(target, "new")
    assert "\n" not in str(info.value)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_failed_fsync_removes_temp(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ReportError, match="Input/output error"):
        write_atomic(tmp_path / "report.html", "<html></html>")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_a_report_error(tmp_path):
    with pytest.raises(ReportError, match="cannot write "):
        write_atomic(tmp_path / "missing" / "report.json", "{}")


def test_report_error_exit_code(tmp_path):
    with pytest.raises(ReportError) as info:
        write_atomic(tmp_path / "missing" / "report.json", "{}")
    assert info.value.exit_code == 2


def test_new_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.json", "{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o644
