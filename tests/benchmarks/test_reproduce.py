"""benchmarks.reproduce: a zoo model rebuilt and rescanned gives the archived manifest values and evidence."""

from __future__ import annotations

import json

import pytest

from benchmarks.errors import BenchmarkInputError
from benchmarks.reproduce import compare, reproduce
from benchmarks.scan_zoo import scan_zoo
from benchmarks.zoo import build_zoo


@pytest.fixture(scope="module")
def scanned_zoo(tmp_path_factory):
    zoo = tmp_path_factory.mktemp("zoo")
    build_zoo("digits", ["mlp"], 3, zoo, epochs=1, names=["mlp-honest", "mlp-vicious-b1"])
    scan_zoo(zoo, with_aux=False, timeout_s=4 * 3600)  # a loaded machine must not cut the budget
    return zoo


@pytest.mark.slow
def test_a_rebuild_and_rescan_repeat_the_archive(scanned_zoo, tmp_path):
    (row,) = reproduce(scanned_zoo, ["mlp-honest"], with_aux=False, work=tmp_path)
    assert row["model_fields_changed"] == [] and row["same_bytes"] is True  # mlp-honest is ONNX
    assert row["same_evidence"] and row["largest_z_shift"] < 1e-9
    assert row["reduced"] == []  # neither scan cut its budget to fit --timeout


@pytest.mark.slow
def test_a_model_that_is_not_the_archived_one_is_caught(scanned_zoo, tmp_path):
    manifest = scanned_zoo / "manifest.json"
    entries = json.loads(manifest.read_text())
    for entry in entries:  # the archive now claims another training seed than the one it was built with
        if entry["name"] == "mlp-vicious-b1":
            entry["training"]["seed"] += 1
    manifest.write_text(json.dumps(entries))
    (row,) = reproduce(scanned_zoo, ["mlp-vicious-b1"], with_aux=False, work=tmp_path)
    assert "test_accuracy" in row["model_fields_changed"] or "decoder_ssim" in row["model_fields_changed"]
    assert not row["same_evidence"]


def test_a_name_the_zoo_lacks_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(BenchmarkInputError, match="not in .*manifest.json: nope"):
        reproduce(tmp_path, ["nope"], with_aux=False, work=tmp_path / "work")


def _entry() -> dict:
    return {
        "name": "m",
        "label": "honest",
        "architecture": "mlp",
        "format": "onnx",
        "release": "logits",
        "training": {},
        "test_accuracy": 0.9,
        "decoder_ssim": 0.5,
    }


def _report(z: dict, R: float | None) -> dict:
    evidence = [{"name": name, "z_score": value} for name, value in z.items()]
    return {
        "viciousness": {"probability": 0.1, "interval": [0.0, 0.2], "evidence": evidence} if z else None,
        "reconstruction": {"R": R, "ssim": 0.5, "reference_R": []},
        "verdict": {"exit_code": 0},
        "environment": {"torch_threads": 1},
        "cost": {"reductions": []},
    }


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        (({"gain": 2.0}, 1.1), ({"gain": 2.0}, 1.1), True),
        (({"gain": 2.0}, 1.1), ({"gain": 2.0 + 1e-6}, 1.1), False),
        (({"gain": 2.0}, 1.1), ({"gain": 2.0, "extra": 0.0}, 1.1), False),  # evidence on one side only
        (({"gain": 2.0, "rank": 1.0}, 1.1), ({"gain": 2.0, "rank": float("nan")}, 1.1), False),
        (({"gain": None}, 1.1), ({"gain": 0.5}, 1.1), False),  # undefined on one side
        (({}, 1.1), ({}, 1.1), True),  # black-box reports: no evidence to compare, R equal
        (({"gain": 2.0}, 0.0), ({"gain": 2.0}, 0.0), True),  # R of 0 does not divide by zero
        (({"gain": 2.0}, None), ({"gain": 2.0}, 1.0), False),
    ],
)
def test_compare_calls_evidence_the_same_only_when_every_value_repeats(tmp_path, before, after, same):
    row = compare(_entry(), [], True, _report(*before), _report(*after), tmp_path)
    assert row["same_evidence"] is same
