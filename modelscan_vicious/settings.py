"""From settings to the one frozen ScanConfig: defaults, then a config file, then flags or API keywords.

The CLI, the config file and the Python API all name settings as the `scan` flags do (`fail-on-risk`);
`DEFAULTS` holds every default once. `build_config` records where each value came from, and the
report shows it (`settings.sources`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelscan_vicious.config import (
    BUDGETS,
    DEFAULT_FAIL_ON_PROBABILITY,
    DEFAULT_MAX_MEMORY,
    ScanConfig,
    parse_input_shape,
    parse_memory,
    resolve_device,
)
from modelscan_vicious.config_file import FILE_KEYS, FileSettings
from modelscan_vicious.errors import UsageError

DEFAULTS: dict[str, Any] = {
    "labels": None,  # required: from a flag, the file or the API call
    "aux": None,
    "release": "logits",
    "output-dir": Path("modelscan-report"),
    "format": "json,html",
    "fail-on-probability": DEFAULT_FAIL_ON_PROBABILITY,
    "fail-on-risk": "auto",  # relative to the honest references (config.RELATIVE_RISK_MARGIN)
    "seed": 0,
    "device": "auto",
    "budget": "fast",
    "input-shape": None,
    "input-range": "0-1",
    "mean": None,
    "std": None,
    "pixel-range": "auto",
    "mitigate": False,
    "references": "auto",
    "jobs": 1,
    "quiet": False,
    "timeout": None,
    "max-memory": DEFAULT_MAX_MEMORY,
    "allow-weak-containment": False,
    "cache-dir": None,  # None: the per-user cache folder (reference_cache.default_cache_dir)
    "no-cache": False,
    "executor": "local",
    "ray-address": None,  # None: a local Ray cluster
    "force": False,
}
assert set(DEFAULTS) == set(FILE_KEYS), "every setting has one default and one file key"


def merge_settings(
    given: Mapping[str, Any], file: FileSettings, *, given_as: str = "flag"
) -> tuple[dict[str, Any], dict[str, str]]:
    """Defaults < file < `given` (flags the user typed, or API keywords: `given_as="argument"`); with each
    value's source."""
    values, sources = dict(DEFAULTS), dict.fromkeys(DEFAULTS, "default")
    for key, value in file.values.items():
        values[key], sources[key] = value, f"file {file.path}"
    for key, value in given.items():
        if key not in DEFAULTS:
            raise UsageError(f"unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
        values[key], sources[key] = value, given_as
    return values, sources


def build_config(values: Mapping[str, Any], sources: Mapping[str, str], *, containment: bool = True) -> ScanConfig:
    """The frozen ScanConfig of merged setting values (flag forms: strings for shapes, lists and budgets)."""
    from modelscan_vicious.data.scaling import InputScaling

    if values["labels"] is None:
        raise UsageError("--labels is required (a flag, `labels` in the config file, or labels= in the API)")
    budget = values["budget"]
    if budget not in BUDGETS:
        raise UsageError(f"--budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    scaling = InputScaling(
        input_range=values["input-range"],
        mean=_floats(values["mean"], "--mean"),
        std=_floats(values["std"], "--std"),
    )
    return ScanConfig(
        labels=Path(values["labels"]),
        aux=Path(values["aux"]) if values["aux"] is not None else None,
        release=values["release"],
        output_dir=Path(values["output-dir"]),
        formats=tuple(f.strip() for f in str(values["format"]).split(",") if f.strip()),
        fail_on_probability=float(values["fail-on-probability"]),
        fail_on_risk=_risk_gate(values["fail-on-risk"]),
        seed=int(values["seed"]),
        device=resolve_device(values["device"]),
        budget=BUDGETS[budget],
        input_shape=parse_input_shape(_text(values["input-shape"])),
        scaling=scaling,
        pixel_range=values["pixel-range"],
        mitigate=bool(values["mitigate"]),
        references=str(values["references"]),
        jobs=int(values["jobs"]),
        quiet=bool(values["quiet"]),
        timeout=float(values["timeout"]) if values["timeout"] is not None else None,
        max_memory_bytes=parse_memory(str(values["max-memory"])),
        containment=containment,
        allow_weak_containment=bool(values["allow-weak-containment"]),
        sources=tuple(sorted(sources.items())),
        cache_dir=None if values["no-cache"] else _cache_dir(values["cache-dir"]),
        executor=str(values["executor"]),
        ray_address=str(values["ray-address"]) if values["ray-address"] is not None else None,
        force=bool(values["force"]),
    )


def _cache_dir(value: Any) -> Path:
    from modelscan_vicious.scanning.reference_cache import default_cache_dir

    return Path(value).expanduser() if value is not None else default_cache_dir()


def _risk_gate(value: Any) -> float | None:
    """`auto` (a gate relative to the honest references) or an absolute R."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--fail-on-risk must be a number or 'auto', got {value!r}") from None


def _text(value: Any) -> str | None:
    """A comma list from an API caller's tuple (input_shape=(3, 32, 32)) or the flag's string."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def _floats(value: Any, flag: str) -> tuple[float, ...] | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated numbers, got {text!r}") from None
