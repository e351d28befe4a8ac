"""The reference cache: entries verified before use, and keys from the architecture (not the weights)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial

import pytest
import torch

from modelscan_vicious.scanning.reference_cache import (
    MANIFEST,
    REFERENCES,
    CachedReferences,
    CacheEntryError,
    DirectoryCache,
    read_references,
    seal,
    verify_entry,
    write_references,
)

KEY = "ab" * 32


def write_entry(folder, key, entry):
    folder.mkdir(parents=True)
    write_references(folder, entry)
    seal(folder, key, REFERENCES)


def read_entry(folder, key):
    verify_entry(folder, key)
    return read_references(folder)


def _entry() -> CachedReferences:
    states = [{"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(2)}, {"w": torch.ones(2, 3), "b": torch.ones(2)}]
    return CachedReferences(states, ["logits", "probabilities"], ["references trained with the recipes standard"])


def test_an_entry_reads_back_exactly(tmp_path):
    write_entry(tmp_path / KEY, KEY, _entry())
    entry = read_entry(tmp_path / KEY, KEY)
    assert entry.output_kinds == ["logits", "probabilities"] and entry.notes == _entry().notes
    for got, want in zip(entry.states, _entry().states):
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)


def test_a_corrupt_or_foreign_entry_is_refused(tmp_path):
    write_entry(tmp_path / KEY, KEY, _entry())
    with pytest.raises(CacheEntryError, match="foreign"):
        read_entry(tmp_path / KEY, "cd" * 32)  # filed under another key
    payload = tmp_path / KEY / "reference-1.pt"
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    payload.write_bytes(bytes(data))
    with pytest.raises(CacheEntryError, match="digest"):
        read_entry(tmp_path / KEY, KEY)
    (tmp_path / KEY / MANIFEST).write_text("{not json")
    with pytest.raises(CacheEntryError, match="manifest"):
        read_entry(tmp_path / KEY, KEY)


def test_a_pickle_in_a_verified_entry_is_never_unpickled(tmp_path):
    """Even with matching digests, tensors are read with weights_only=True: arbitrary objects are refused."""
    folder = tmp_path / KEY
    write_entry(folder, KEY, _entry())
    torch.save({"w": torch.ones(1), "payload": _Callable()}, folder / "reference-0.pt")
    manifest = json.loads((folder / MANIFEST).read_text())
    from modelscan_vicious.scanning.reference_cache import file_digest

    size = (folder / "reference-0.pt").stat().st_size
    manifest["files"]["reference-0.pt"] = {"sha256": file_digest(folder / "reference-0.pt"), "bytes": size}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CacheEntryError, match="unreadable"):
        read_entry(folder, KEY)
    assert not _Callable.called


class _Callable:
    called = False

    def __reduce__(self):
        return (_Callable._mark, ())

    @staticmethod
    def _mark():
        _Callable.called = True


def test_the_directory_cache_warns_once_and_misses_on_a_bad_entry(tmp_path):
    warnings: list[str] = []
    cache = DirectoryCache(tmp_path, warn=warnings.append)
    assert cache.lookup(KEY, REFERENCES) is None and warnings == []  # absent: a plain miss
    cache.store(KEY, REFERENCES, partial(write_references, entry=_entry()))
    assert cache.uses[KEY].stored
    assert cache.lookup(KEY, REFERENCES) == tmp_path / KEY and cache.uses[KEY].status == "hit"
    assert cache.lookup(KEY, "attack-outcomes") is None  # an entry of another kind is foreign too
    (tmp_path / KEY / "reference-0.pt").write_bytes(b"garbage")
    assert cache.lookup(KEY, REFERENCES) is None and cache.uses[KEY].status == "miss"
    assert len(warnings) == 2 and all("ignored" in w and "\n" not in w for w in warnings)
    cache.store(KEY, REFERENCES, partial(write_references, entry=_entry()))  # the new entry replaces the bad one
    assert read_references(cache.lookup(KEY, REFERENCES)).notes == _entry().notes


def test_an_exported_entry_is_an_exact_verified_copy(tmp_path):
    cache = DirectoryCache(tmp_path / "cache", warn=lambda message: None)
    cache.store(KEY, REFERENCES, partial(write_references, entry=_entry()))
    assert cache.export(KEY, tmp_path / "scratch" / KEY) == REFERENCES
    assert read_entry(tmp_path / "scratch" / KEY, KEY).output_kinds == _entry().output_kinds
    payload = tmp_path / "cache" / KEY / "references.json"
    payload.write_text(payload.read_text().replace("standard", "tampered"))
    assert cache.export(KEY, tmp_path / "again" / KEY) is None
    assert not (tmp_path / "again" / KEY).exists()  # a half-copied entry is removed


_FINGERPRINT = """
import sys, torch
torch.set_num_threads(1)
from pathlib import Path
from modelscan_vicious.loading import load_model
from modelscan_vicious.scanning.reference_key import architecture_fingerprint
for path in sys.argv[1:]:
    model = load_model(Path(path), n_pixels=64)
    print(architecture_fingerprint(model.trainable_copy()))
"""


def test_the_architecture_fingerprint_ignores_weights_and_is_stable_across_processes(tiny_models):
    paths = [tiny_models.honest_onnx.path, tiny_models.vicious_onnx.path, tiny_models.honest_torchscript.path]
    paths.append(tiny_models.vicious_torchscript.path)
    runs = [
        subprocess.run(
            [sys.executable, "-c", _FINGERPRINT, *map(str, paths)], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]  # the same in every process
    onnx_honest, onnx_vicious, ts_honest, ts_vicious = runs[0]
    assert onnx_honest == onnx_vicious and ts_honest == ts_vicious  # same architecture, other weights
    assert onnx_honest != ts_honest  # other graph code
