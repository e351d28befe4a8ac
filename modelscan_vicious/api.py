"""The Python API: `modelscan_vicious.scan(model, labels=..., **settings) -> ScanResult`.

Settings are the `scan` flags as keywords (`fail_on_risk=1.3`, `budget="standard"`, `aux=path`);
a config file is read only when asked for (`config="modelscan-vicious.toml"`). The model runs
contained exactly as under the CLI; bad input raises the ScanError subclass the CLI maps to its exit code.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from modelscan_vicious.results import ScanResult


def scan(
    model: str | PathLike[str],
    *,
    labels: str | PathLike[str] | None = None,
    config: str | PathLike[str] | None = None,
    containment: bool = True,
    **settings: Any,
) -> ScanResult:
    """Scan one model and return its typed result (`result.to_dict()` is the JSON report's content).

    Writes no report: pass the result to `write_reports` / `write_sarif` for files.
    """
    from modelscan_vicious.config_file import FileSettings, load_settings
    from modelscan_vicious.scanning.parallel import scan_one
    from modelscan_vicious.settings import build_config, merge_settings

    given = {key.replace("_", "-"): value for key, value in settings.items()}
    if labels is not None:
        given["labels"] = labels
    file = load_settings(Path(config), Path.cwd()) if config is not None else FileSettings(None, {})
    values, sources = merge_settings(given, file, given_as="argument")
    return scan_one(Path(model), build_config(values, sources, containment=containment))
