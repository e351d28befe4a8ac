"""The machine-readable report: strict JSON of `ScanResult.to_dict()`, and its schema."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import PurePath
from typing import Any

import numpy as np

from modelscan_vicious.errors import ReportError
from modelscan_vicious.results import ScanResult

SCHEMA_RESOURCE = "report.schema.json"


def render_json(result: ScanResult) -> str:
    """Serialise one scan result as strict JSON (sorted keys, indent 2, NaN/inf as null)."""
    document = to_json_safe(result.to_dict())
    return json.dumps(document, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def to_json_safe(value: Any) -> Any:
    """Convert ``value`` into plain JSON types: non-finite floats become None,
    numpy scalars and arrays become Python numbers and lists, paths become strings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return to_json_safe(value.item())
    if isinstance(value, np.ndarray):
        return to_json_safe(value.tolist())
    if isinstance(value, dict):
        return {str(key): to_json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_json_safe(item) for item in value), key=repr)
    if isinstance(value, PurePath):
        return str(value)
    raise ReportError(f"cannot write {type(value).__name__} value {value!r} to a JSON report")


def load_schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12), read from the installed package."""
    text = resources.files("modelscan_vicious.reports").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def validate_report(doc: dict[str, Any]) -> None:
    """Check a parsed report against the schema; raise ReportError naming the first problem."""
    try:
        import jsonschema
    except ImportError as err:
        raise ReportError(
            "validating reports needs the 'jsonschema' package; install it with: pip install 'modelscan-vicious[test]'"
        ) from err
    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = error.json_path if error.path else "$"
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise ReportError(f"report does not match schema at {where}: {message}")
