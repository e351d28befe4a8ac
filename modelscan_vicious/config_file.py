"""Scan settings from a file: `modelscan-vicious.toml`, or `[tool.modelscan-vicious]` in `pyproject.toml`.

Keys are the `scan` flags without their dashes (`fail-on-risk = 1.3`; `fail_on_risk` is accepted too).
Precedence is defaults < file < flags. Values are checked here, where they enter: an unknown key or a
value of the wrong type is a usage error naming the key and the file. Relative paths in a file are
relative to the file's folder, so a checked-in config works from any working directory.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelscan_vicious.errors import UsageError

CONFIG_FILE_NAME = "modelscan-vicious.toml"
PYPROJECT_TABLE = "modelscan-vicious"  # [tool.modelscan-vicious]

# Key -> the type a value must have. Lists are accepted where the flag takes a comma list.
_KEY_TYPES: dict[str, str] = {
    "labels": "path",
    "aux": "path",
    "release": "str",
    "output-dir": "path",
    "format": "list",
    "fail-on-probability": "float",
    "fail-on-risk": "float-or-auto",
    "seed": "int",
    "device": "str",
    "budget": "str",
    "input-shape": "list",
    "input-range": "str",
    "mean": "list",
    "std": "list",
    "pixel-range": "str",
    "mitigate": "bool",
    "references": "str",
    "jobs": "int",
    "quiet": "bool",
    "timeout": "float",
    "max-memory": "str",
    "allow-weak-containment": "bool",
    "cache-dir": "path",
    "no-cache": "bool",
    "executor": "str",
    "ray-address": "str",
    "force": "bool",
}
FILE_KEYS = tuple(_KEY_TYPES)


@dataclass(frozen=True)
class FileSettings:
    """Settings read from one file, as the flag values they stand for (`None` path: no file)."""

    path: Path | None
    values: dict[str, Any]


def find_config_file(directory: Path) -> Path | None:
    """`modelscan-vicious.toml` in `directory`, else its `pyproject.toml` when that has our table."""
    own = directory / CONFIG_FILE_NAME
    if own.is_file():
        return own
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file() and PYPROJECT_TABLE in _read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def load_settings(explicit: Path | None, directory: Path) -> FileSettings:
    """The settings of `explicit` (--config), or of the file found in `directory`, or none."""
    if explicit is not None and not explicit.is_file():
        raise UsageError(f"--config {explicit}: no such file")
    path = explicit or find_config_file(directory)
    if path is None:
        return FileSettings(None, {})
    document = _read_toml(path)
    table = document.get("tool", {}).get(PYPROJECT_TABLE) if path.name == "pyproject.toml" else document
    if table is None:
        raise UsageError(f"{path}: no [tool.{PYPROJECT_TABLE}] table")
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.{PYPROJECT_TABLE}] must be a table")
    return FileSettings(path, {key: _value(path, key, value) for key, value in _normalised(path, table).items()})


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 has no tomllib; tomli is its backport
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML ({err})") from err
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror or err})") from err


def _normalised(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    normalised: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in _KEY_TYPES:
            raise UsageError(f"{path}: unknown setting {raw_key!r}; known: {', '.join(FILE_KEYS)}")
        if key in normalised:
            raise UsageError(f"{path}: setting {key!r} is given twice")
        normalised[key] = value
    return normalised


def _value(path: Path, key: str, value: Any) -> Any:
    """The value as the flag would have received it; a wrong type is a usage error."""
    kind = _KEY_TYPES[key]
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "float-or-auto" and (
        value == "auto" or (isinstance(value, (int, float)) and not isinstance(value, bool))
    ):
        return value if value == "auto" else float(value)
    if kind == "path" and isinstance(value, str) and value:
        return _relative_to(path, value)
    if kind == "list" and isinstance(value, str):
        return value
    if kind == "list" and isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ",".join(str(v) for v in value)
    expected = {
        "list": "a list or a comma-separated string",
        "path": "a non-empty path string",
        "float-or-auto": "a number or 'auto'",
    }.get(kind, f"a {kind}")
    raise UsageError(f"{path}: setting {key!r} must be {expected}, got {value!r}")


def _relative_to(config_path: Path, value: str) -> Path:
    if value == "noise":  # `aux = "noise"`: the attacker with no data, not a file
        return Path(value)
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else config_path.parent / candidate
