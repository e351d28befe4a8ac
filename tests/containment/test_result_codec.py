"""The result crosses from the contained worker as JSON and NumPy data, never pickle, and unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from modelscan_vicious.containment.result_codec import decode_result, encode_result
from modelscan_vicious.errors import ContainmentError
from modelscan_vicious.reports.json_report import render_json
from modelscan_vicious.results import ContainmentInfo
from tests.reports.conftest import make_failed_result


def _result():
    containment = ContainmentInfo(["network-namespace"], False, 60.0, 3 << 30, ["/models/m.onnx"])
    return replace(make_failed_result(), containment=containment)


def test_round_trip_gives_the_same_report_and_images(tmp_path: Path):
    result = _result()
    encode_result(result, tmp_path)
    decoded = decode_result(tmp_path)
    assert render_json(decoded) == render_json(result)
    np.testing.assert_array_equal(decoded.reconstruction.example_originals, result.reconstruction.example_originals)
    assert decoded.viciousness.interval == result.viciousness.interval  # a tuple again, as the pipeline made it


def test_a_labelled_only_score_survives_the_round_trip_and_the_schema(tmp_path: Path):
    from modelscan_vicious.commands.batch import result_from_report
    from modelscan_vicious.reports import validate_report

    base = _result()
    result = replace(base, viciousness=replace(base.viciousness, calibration_data="labelled-only"))
    encode_result(result, tmp_path)
    decoded = decode_result(tmp_path)
    assert decoded.viciousness.calibration_data == "labelled-only"
    document = json.loads(render_json(decoded))
    validate_report(document)
    assert result_from_report(document).viciousness.calibration_data == "labelled-only"  # a batch's resumed report


@pytest.mark.parametrize("value", [None, "both", 1])
def test_an_unknown_calibration_data_is_a_malformed_result(tmp_path: Path, value):
    encode_result(_result(), tmp_path)
    document = json.loads((tmp_path / "result.json").read_text())
    document["viciousness"]["calibration_data"] = value
    (tmp_path / "result.json").write_text(json.dumps(document))
    with pytest.raises(ContainmentError, match="malformed result"):
        decode_result(tmp_path)


def test_no_pickle_is_accepted_for_the_images(tmp_path: Path):
    encode_result(_result(), tmp_path)
    np.savez(tmp_path / "examples.npz", example_originals=np.array([object()], dtype=object))
    with pytest.raises(ContainmentError, match="malformed result"):
        decode_result(tmp_path)


@pytest.mark.parametrize("damage", ["missing verdict", "extra field", "not json"])
def test_malformed_result_is_one_line_error(tmp_path: Path, damage: str):
    encode_result(_result(), tmp_path)
    document = json.loads((tmp_path / "result.json").read_text())
    if damage == "missing verdict":
        del document["verdict"]
    elif damage == "extra field":
        document["verdict"]["run_this"] = "rm -rf /"
    text = json.dumps(document) if damage != "not json" else "{not json"
    (tmp_path / "result.json").write_text(text)
    with pytest.raises(ContainmentError, match="malformed result"):
        decode_result(tmp_path)
