"""JSON report: strict JSON, matches the schema, and the schema rejects broken documents."""

from __future__ import annotations

import copy
import json

import pytest

from modelscan_vicious.errors import ReportError
from modelscan_vicious.reports import load_schema, render_json, validate_report
from modelscan_vicious.results import SCHEMA_VERSION


def _strict_loads(text: str) -> dict:
    def reject(token: str) -> None:
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=reject)


@pytest.mark.parametrize("name", ["failed_result", "passed_result", "error_result"])
def test_every_verdict_renders_strict_json_that_matches_schema(name, request):
    text = render_json(request.getfixturevalue(name))
    doc = _strict_loads(text)
    validate_report(doc)
    assert text.endswith("\n")


def test_non_finite_numbers_become_null(failed_result):
    doc = _strict_loads(render_json(failed_result))
    assert doc["reconstruction"]["psnr"] is None
    assert doc["reconstruction"]["per_sample_risk"][-1] is None
    assert doc["viciousness"]["evidence"][2]["suspect_value"] is None


def test_output_is_sorted_and_indented(failed_result):
    text = render_json(failed_result)
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_example_images_are_not_in_json(failed_result):
    doc = json.loads(render_json(failed_result))
    assert not any(key.startswith("example_") for key in doc["reconstruction"])


def test_error_result_has_only_model_path(error_result):
    doc = json.loads(render_json(error_result))
    assert doc["model"] == {"path": "models/broken.onnx"}
    assert doc["viciousness"] is None and doc["reconstruction"] is None
    assert doc["verdict"] == {"status": "error", "exit_code": 2, "reasons": [error_result.verdict.reasons[0]]}


def test_schema_version_matches_result_module():
    schema = load_schema()
    assert schema["version"] == SCHEMA_VERSION
    assert schema["$id"].endswith(SCHEMA_VERSION)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_itself_is_valid_draft_2020_12():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(load_schema())


def _mutations():
    def drop(key):
        return lambda d: d.pop(key)

    def set_path(value, *keys):
        def apply(d):
            for key in keys[:-1]:
                d = d[key]
            d[keys[-1]] = value

        return apply

    return {
        "missing verdict": drop("verdict"),
        "missing settings": drop("settings"),
        "bad status": set_path("clean", "verdict", "status"),
        "exit code out of range": set_path(7, "verdict", "exit_code"),
        "probability above 1": set_path(1.5, "viciousness", "probability"),
        "model lacks sha256": lambda d: d["model"].pop("sha256"),
        "evidence lacks name": lambda d: d["viciousness"]["evidence"][0].pop("name"),
        "reconstruction lacks R": lambda d: d["reconstruction"].pop("R"),
        "string timing": set_path("fast", "timings", "load"),
        "bad plugin status": set_path("maybe", "plugins", 0, "status"),
        "wrong schema major": set_path("2.0.0", "schema_version"),
    }


@pytest.mark.parametrize("mutation", sorted(_mutations()))
def test_invalid_documents_are_rejected(failed_result, mutation):
    pytest.importorskip("jsonschema")
    doc = copy.deepcopy(json.loads(render_json(failed_result)))
    _mutations()[mutation](doc)
    with pytest.raises(ReportError, match="does not match schema"):
        validate_report(doc)


def test_missing_jsonschema_gives_install_hint(monkeypatch, failed_result):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "jsonschema" or name.startswith("jsonschema."):
            raise ImportError("no jsonschema")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ReportError, match="pip install"):
        validate_report(json.loads(render_json(failed_result)))
