"""`--cache-dir`/`--no-cache`: scans whose references come from the cache give the fresh scans' reports,
and a corrupt or foreign entry is ignored with a warning and retrained."""

from __future__ import annotations

import json
from pathlib import Path

from modelscan_vicious.scanning import references
from modelscan_vicious.scanning.reference_cache import (
    REFERENCES,
    CachedReferences,
    read_references,
    seal,
    verify_entry,
    write_references,
)

from scan_helpers import HIGH_RISK_GATE, scan

VOLATILE = ("timings", "reference_cache", "cost")  # differ between otherwise identical scans


def _entry() -> CachedReferences:
    import torch

    return CachedReferences([{"w": torch.ones(2)}], ["logits"], ["a note"])


def _report(out: Path, stem: str) -> dict:
    return json.loads((out / f"{stem}.json").read_text())


def _stable(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in VOLATILE}


def test_a_cached_scan_gives_the_fresh_report(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, capfd):
    """Contained scans: a miss stores the references, a hit loads them, and a corrupt entry is retrained."""
    model, cache = tiny_models.softmax_torchscript.path, tmp_path / "cache"
    args = ("--cache-dir", str(cache), "--fail-on-risk", HIGH_RISK_GATE, "--format", "json")
    codes = [scan([model], tmp_path / run, *args, labels=labels_csv, aux=aux_npz) for run in ("miss", "hit")]
    fresh, cached = _report(tmp_path / "miss", model.stem), _report(tmp_path / "hit", model.stem)
    assert codes[0] == codes[1]
    assert fresh["reference_cache"]["status"] == "miss" and fresh["reference_cache"]["stored"]
    assert fresh["reference_cache"]["attack_outcomes"] == "miss"
    hit = {"status": "hit", "stored": False, "attack_outcomes": "hit"}
    assert cached["reference_cache"] == {**fresh["reference_cache"], **hit}
    assert _stable(cached) == _stable(fresh)
    entry = cache / fresh["reference_cache"]["key"]
    (entry / "reference-0.pt").write_bytes(b"corrupt")
    capfd.readouterr()
    scan([model], tmp_path / "corrupt", *args, labels=labels_csv, aux=aux_npz)
    warnings = [line for line in capfd.readouterr().err.splitlines() if "reference cache entry" in line]
    assert len(warnings) == 1 and "ignored" in warnings[0]
    repaired = _report(tmp_path / "corrupt", model.stem)
    assert repaired["reference_cache"]["status"] == "miss" and _stable(repaired) == _stable(fresh)
    verify_entry(entry, fresh["reference_cache"]["key"])  # the retrained entry was stored over it
    read_references(entry)


def test_a_hit_trains_nothing_and_a_foreign_entry_is_ignored(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch, capfd
):
    """In-process scans use the cache folder directly; a hit never calls train_classifier."""
    model, cache = tiny_models.honest_onnx.path, tmp_path / "cache"
    args = ("--cache-dir", str(cache), "--fail-on-risk", HIGH_RISK_GATE, "--format", "json", "--no-containment")
    scan([model], tmp_path / "miss", *args, labels=labels_csv, aux=aux_npz)
    fresh = _report(tmp_path / "miss", model.stem)
    key = fresh["reference_cache"]["key"]

    def no_training(*args, **kwargs):
        raise AssertionError("a cache hit must not train")

    with monkeypatch.context() as patch:
        patch.setattr(references, "train_classifier", no_training)
        scan([model], tmp_path / "hit", *args, labels=labels_csv, aux=aux_npz)
    cached = _report(tmp_path / "hit", model.stem)
    assert cached["reference_cache"]["status"] == "hit" and _stable(cached) == _stable(fresh)

    other = cache / ("0" * 64)  # an entry filed under this key that describes another
    other.mkdir(parents=True)
    write_references(other, _entry())
    seal(other, "0" * 64, REFERENCES)
    (cache / key).rename(tmp_path / "moved")
    other.rename(cache / key)
    capfd.readouterr()
    scan([model], tmp_path / "foreign", *args, labels=labels_csv, aux=aux_npz)
    assert "foreign entry" in capfd.readouterr().err
    retrained = _report(tmp_path / "foreign", model.stem)
    assert retrained["reference_cache"]["status"] == "miss" and _stable(retrained) == _stable(fresh)


def test_no_cache_records_off_and_writes_nothing(tiny_models, labels_csv, tmp_path, tiny_scan):
    model = tiny_models.honest_onnx.path
    args = ("--cache-dir", str(tmp_path / "cache"), "--no-cache", "--format", "json", "--no-containment")
    scan([model], tmp_path / "out", *args, labels=labels_csv)
    assert _report(tmp_path / "out", model.stem)["reference_cache"] == {
        "status": "off",
        "key": None,
        "stored": False,
        "attack_outcomes": "off",
    }
    assert not (tmp_path / "cache").exists()
