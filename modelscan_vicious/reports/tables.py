"""The report's settings and environment tables: values as recorded, labelled where they mislead.

`scanning/environment.py` records every installed package of a fixed list, so a CPU scan on a machine
with the GPU build of ONNX Runtime lists `onnxruntime-gpu`. That build then provides the
`onnxruntime` module, but it ran on the CPU; its row says so instead of implying a GPU was used.
"""

from __future__ import annotations

import json
from typing import Any

from modelscan_vicious.reports.numbers import format_fixed, format_probability, format_r, is_finite

# Settings shown at the precision of the number they gate.
SETTING_FORMATS = {"thresholds.fail_on_risk": format_r, "thresholds.fail_on_probability": format_probability}

# Packages built for one device: (that device, what the package did on a scan that ran elsewhere).
DEVICE_BUILDS = {
    "onnxruntime-gpu": (
        "cuda",
        "GPU build of ONNX Runtime, installed; this {device} scan ran it with its CPU execution provider",
    ),
}


def settings_rows(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """The settings as recorded, except the gates, shown at the precision of what they gate."""
    return [(key, SETTING_FORMATS.get(key, display_value)(value)) for key, value in flatten(settings)]


def environment_view(environment: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Rows (key, value, note) of the recorded environment, and the device the scan ran on."""
    device = str(environment.get("device") or settings.get("device") or "unknown")
    rows = []
    for key, value in flatten(environment):
        note = ""
        build = DEVICE_BUILDS.get(key.removeprefix("packages.")) if key.startswith("packages.") else None
        if build is not None and not device.startswith(build[0]):
            note = build[1].format(device=device)
        rows.append((key, display_value(value), note))
    return {"device": device, "rows": rows}


def flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as sorted ("a.b", value) rows, values left as they are."""
    rows: list[tuple[str, Any]] = []
    for key in sorted(mapping, key=str):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(flatten(value, prefix=name + "."))
        else:
            rows.append((name, value))
    return rows


def display_value(value: Any) -> str:
    """A recorded value: strings as they are, numbers exactly as recorded, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value) if is_finite(value) else format_fixed(value, 0)
    return json.dumps(value, default=str, sort_keys=True)
