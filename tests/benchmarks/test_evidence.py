"""A zoo's evidence archive: what it keeps, and that unpacking restores it where its row files point."""

from __future__ import annotations

import json
import tarfile

import pytest

from benchmarks import evidence
from benchmarks.errors import BenchmarkInputError


def _zoo(out):
    zoo = out / "z"
    (zoo / "reports").mkdir(parents=True)
    (zoo / "reports-noaux").mkdir()
    (zoo / "manifest.json").write_text(json.dumps([{"name": "m"}]))
    (zoo / "m.onnx").write_bytes(b"model")  # rebuilt by seed, never archived
    (zoo / "reports" / "m.json").write_text('{"aux": true}')
    (zoo / "reports-noaux" / "m.json").write_text('{"aux": false}')
    (out / "noaux").mkdir()
    (out / "noaux" / "z-scans.json").write_text(
        json.dumps([{"name": "m", "report": str(out / "z/reports-noaux/m.json")}])
    )
    (out / "noaux" / "zz-scans.json").write_text("[]")  # another zoo's
    return zoo


def test_pack_keeps_manifest_reports_and_rows_and_unpack_restores_them(tmp_path):
    out, archives = tmp_path / "out", tmp_path / "archives"
    zoo = _zoo(out)
    target = evidence.pack(zoo, archives, out)
    with tarfile.open(target) as archive:
        assert sorted(archive.getnames()) == [
            "noaux/z-scans.json",
            "z/manifest.json",
            "z/reports-noaux/m.json",
            "z/reports/m.json",
        ]
    first = target.read_bytes()
    assert evidence.pack(zoo, archives, out).read_bytes() == first  # deterministic: no spurious diffs
    restored = tmp_path / "fresh"
    assert evidence.unpack(archives, restored) == [target]
    assert (restored / "z" / "reports-noaux" / "m.json").read_text() == '{"aux": false}'
    assert not (restored / "z" / "m.onnx").exists()


def test_pack_refuses_a_folder_that_is_not_a_zoo(tmp_path):
    with pytest.raises(BenchmarkInputError, match="not a zoo"):
        evidence.pack(tmp_path, tmp_path / "a", tmp_path)


def test_unpack_refuses_a_member_outside_the_folder(tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    outside = tmp_path / "evil.txt"
    outside.write_text("x")
    with tarfile.open(archives / "bad.tar.gz", "w:gz") as archive:
        archive.add(outside, arcname="../evil2.txt")
    with pytest.raises(tarfile.OutsideDestinationError):
        evidence.unpack(archives, tmp_path / "out")
    assert not (tmp_path / "evil2.txt").exists()
