"""A zoo's evidence archive: what it keeps, and that unpacking restores it where its row files point."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from benchmarks import evidence
from benchmarks.errors import EXIT_BAD_INPUT, BenchmarkInputError, run_main
from benchmarks.scan_rows import read_scan_rows

OUT = Path("benchmarks/out")  # row files name reports relative to the repository root, as scan_zoo writes them


def _zoo(root: Path) -> Path:
    out = root / OUT
    zoo = out / "z"
    (zoo / "reports").mkdir(parents=True)
    (zoo / "reports-noaux").mkdir()
    (zoo / "manifest.json").write_text(json.dumps([{"name": "m"}]))
    (zoo / "m.onnx").write_bytes(b"model")  # rebuilt by seed, never archived
    (zoo / "reports" / "m.json").write_text('{"aux": true}')
    (zoo / "reports-noaux" / "m.json").write_text('{"aux": false}')
    (out / "noaux").mkdir()
    rows = [{"name": "m", "report": str(OUT / "z" / "reports-noaux" / "m.json")}]
    (out / "noaux" / "z-scans.json").write_text(json.dumps(rows))
    (out / "noaux" / "z-other-scans.json").write_text("[]")  # zoo "z-other", not "z"
    return zoo


def test_pack_keeps_manifest_reports_and_rows_and_unpack_restores_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archives = tmp_path / "archives"
    zoo = _zoo(tmp_path)
    target = evidence.pack(zoo, archives, OUT)
    with tarfile.open(target) as archive:
        assert sorted(archive.getnames()) == [
            "noaux/z-scans.json",
            "z/manifest.json",
            "z/reports-noaux/m.json",
            "z/reports/m.json",
        ]
    first = target.read_bytes()
    (zoo / "reports" / "m.json").touch()  # a newer time, same bytes
    assert evidence.pack(zoo, archives, OUT).read_bytes() == first  # so git sees no change

    monkeypatch.chdir(tmp_path / "archives")  # a fresh checkout: nothing under benchmarks/out yet
    assert evidence.unpack(archives, OUT) == [target]
    (row,) = read_scan_rows([OUT / "noaux" / "z-scans.json"])
    assert Path(row["report"]).read_text() == '{"aux": false}'  # the row's report path is valid again
    assert not (OUT / "z" / "m.onnx").exists()


def test_unpack_refuses_to_overwrite_unless_forced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archives = tmp_path / "archives"
    zoo = _zoo(tmp_path)
    evidence.pack(zoo, archives, OUT)
    (zoo / "reports" / "m.json").write_text('{"newer": true}')
    with pytest.raises(BenchmarkInputError, match="already in"):
        evidence.unpack(archives, OUT)
    assert (zoo / "reports" / "m.json").read_text() == '{"newer": true}'
    evidence.unpack(archives, OUT, force=True)
    assert (zoo / "reports" / "m.json").read_text() == '{"aux": true}'


def test_pack_refuses_a_folder_that_is_not_a_zoo_directly_under_out(tmp_path, capsys):
    with pytest.raises(BenchmarkInputError, match="not a zoo"):
        evidence.pack(tmp_path, tmp_path / "a", tmp_path)
    nested = tmp_path / "deeper" / "z"
    nested.mkdir(parents=True)
    (nested / "manifest.json").write_text("[]")
    with pytest.raises(BenchmarkInputError, match="directly under"):
        evidence.pack(nested, tmp_path / "a", tmp_path)
    assert run_main(lambda: evidence.main(["pack", "--zoo", str(tmp_path / "none")])) == EXIT_BAD_INPUT
    assert "not a zoo" in capsys.readouterr().err


def test_unpack_refuses_a_member_outside_the_folder(tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    outside = tmp_path / "evil.txt"
    outside.write_text("x")
    with tarfile.open(archives / "bad.tar.gz", "w:gz") as archive:
        archive.add(outside, arcname="../evil2.txt")
    with pytest.raises(BenchmarkInputError, match="bad.tar.gz: cannot unpack .*outside"):
        evidence.unpack(archives, tmp_path / "out")
    assert not (tmp_path / "evil2.txt").exists()


def test_a_damaged_archive_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    archives = tmp_path / "archives"
    archives.mkdir()
    (archives / "broken.tar.gz").write_bytes(b"not a tar file")
    monkeypatch.setattr(evidence, "ARCHIVES", archives)
    monkeypatch.setattr(evidence, "OUT", tmp_path / "out")
    assert run_main(lambda: evidence.main(["unpack"])) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: broken.tar.gz: cannot read") and err.count("\n") == 1
