"""write_reports / write_sarif: file names, formats, directories and failure modes."""

from __future__ import annotations

import json

import pytest

from modelscan_vicious.errors import EXIT_USAGE_ERROR, ReportError, UsageError
from modelscan_vicious.reports import report_stem, validate_report, write_reports, write_sarif


def test_writes_json_and_html_named_after_model(tmp_path, failed_result):
    out = tmp_path / "nested" / "reports"
    paths = write_reports(failed_result, out, ["html", "json", "sarif", "json"])
    assert paths == [out / "vicious_mnist.html", out / "vicious_mnist.json"]
    assert sorted(p.name for p in out.iterdir()) == ["vicious_mnist.html", "vicious_mnist.json"]
    validate_report(json.loads(paths[1].read_text("utf-8")))
    assert paths[0].read_text("utf-8").startswith("<!DOCTYPE html>")


def test_sarif_only_writes_nothing_per_model(tmp_path, passed_result):
    assert write_reports(passed_result, tmp_path, ["sarif"]) == []
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_is_usage_error(tmp_path, passed_result):
    with pytest.raises(UsageError, match="unknown report format 'pdf'") as info:
        write_reports(passed_result, tmp_path, ["json", "pdf"])
    assert info.value.exit_code == EXIT_USAGE_ERROR
    assert list(tmp_path.iterdir()) == []


def test_output_dir_that_is_a_file_is_report_error(tmp_path, passed_result):
    blocker = tmp_path / "out"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match="cannot create report directory"):
        write_reports(passed_result, blocker, ["json"])


def test_write_sarif(tmp_path, failed_result, passed_result, error_result):
    path = write_sarif([failed_result, passed_result, error_result], tmp_path / "ci" / "scan.sarif")
    log = json.loads(path.read_text("utf-8"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["MSV001", "MSV002", "MSV004", "MSV003"]
    assert len(log["runs"][0]["artifacts"]) == 3


@pytest.mark.parametrize(
    ("path", "stem"),
    [("models/m.onnx", "m"), ("/a/b/model.v2.pt", "model.v2"), ("", "report"), ("dir/", "dir")],
)
def test_report_stem(path, stem):
    assert report_stem(path) == stem


def test_write_sarif_records_the_invocation(tmp_path, passed_result):
    path = write_sarif(
        [passed_result], tmp_path / "scan.sarif", command_line="modelscan-vicious scan m.onnx", exit_code=2
    )
    (invocation,) = json.loads(path.read_text("utf-8"))["runs"][0]["invocations"]
    assert invocation["commandLine"] == "modelscan-vicious scan m.onnx"
    assert invocation["exitCode"] == 2 and invocation["executionSuccessful"] is False
