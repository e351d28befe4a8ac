"""SARIF log: one result per model that did not pass, every model listed as an artifact."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from modelscan_vicious.reports import render_sarif
from modelscan_vicious.reports.sarif_report import RULES, path_to_uri


@pytest.fixture()
def sarif(failed_result, passed_result, error_result) -> dict:
    return json.loads(render_sarif([failed_result, passed_result, error_result]))


def test_log_has_sarif_2_1_0_shape(sarif):
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    assert len(sarif["runs"]) == 1
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["name"] == "modelscan-vicious"
    assert driver["version"] == "0.1.0"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == ["MSV001", "MSV002", "MSV003"]
    assert [rule["name"] for rule in driver["rules"]] == [
        "vicious-training-likely",
        "reconstruction-risk",
        "scan-error",
    ]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}


def test_one_result_per_failed_or_error_verdict(sarif):
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["MSV001", "MSV003"]
    assert [r["level"] for r in results] == ["error", "warning"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert len(result["locations"]) == 1


def test_locations_point_at_model_paths_and_artifacts(sarif):
    run = sarif["runs"][0]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert uris == ["models/vicious_mnist.onnx", "models/honest.onnx", "models/broken.onnx"]
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert run["artifacts"][location["index"]]["location"]["uri"] == location["uri"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "models/vicious_mnist.onnx"
    )


def test_messages_say_what_to_do(sarif):
    failed, error = sarif["runs"][0]["results"]
    assert failed["message"]["text"].startswith("Do not deploy")
    assert "R 6.3 >= 1.5" in failed["message"]["text"]
    assert "not an ONNX file" in error["message"]["text"]


def test_all_passed_gives_no_results(passed_result):
    sarif = json.loads(render_sarif([passed_result]))
    assert sarif["runs"][0]["results"] == []
    assert len(sarif["runs"][0]["artifacts"]) == 1


def test_failure_without_confident_detector_is_reconstruction_rule(failed_result):
    leaky = replace(failed_result, viciousness=None)
    (finding,) = json.loads(render_sarif([leaky]))["runs"][0]["results"]
    assert finding["ruleId"] == "MSV002"


def test_non_finite_numbers_stay_strict_json(failed_result):
    text = render_sarif([replace(failed_result, reconstruction=replace(failed_result.reconstruction, R=float("inf")))])
    json.loads(text, parse_constant=lambda token: pytest.fail(f"non-standard constant {token}"))


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("models/a b.onnx", "models/a%20b.onnx"),
        ("/abs/model.onnx", "file:///abs/model.onnx"),
        ("C:\\models\\m.onnx", "file:///C:/models/m.onnx"),
    ],
)
def test_paths_become_uri_references(path, uri):
    assert path_to_uri(path) == uri


def test_rules_have_unique_ids():
    assert len({rule["id"] for rule in RULES}) == len(RULES)
