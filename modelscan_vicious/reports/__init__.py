"""Report writers: JSON (machine), HTML (people) and SARIF (code-scanning dashboards).

Reports read only the final `ScanResult`. Every file is written atomically, so a report on
disk is either complete or absent. Jinja2, matplotlib and Pillow are imported only when a
report that needs them is rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePath

from modelscan_vicious.atomic_file import write_atomic
from modelscan_vicious.config import FORMATS
from modelscan_vicious.errors import ReportError, UsageError
from modelscan_vicious.reports.html_report import render_html
from modelscan_vicious.reports.json_report import load_schema, render_json, validate_report
from modelscan_vicious.reports.sarif_report import render_sarif
from modelscan_vicious.results import ScanResult

PER_MODEL_RENDERERS = {"json": render_json, "html": render_html}

__all__ = [
    "load_schema",
    "render_html",
    "render_json",
    "render_sarif",
    "report_stem",
    "validate_report",
    "write_reports",
    "write_sarif",
]


def write_reports(
    result: ScanResult, output_dir: Path, formats: Sequence[str], *, stem: str | None = None
) -> list[Path]:
    """Write ``<model-stem>.json`` / ``<model-stem>.html`` into ``output_dir`` (created if
    needed) and return the paths written. "sarif" is accepted and skipped here: the caller
    writes one SARIF file for all models with `write_sarif`."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise UsageError(f"unknown report format {', '.join(map(repr, unknown))}; expected one of {', '.join(FORMATS)}")
    output_dir = Path(output_dir)
    _make_directory(output_dir)
    stem = stem or report_stem(result.model_path)
    written: list[Path] = []
    for fmt in dict.fromkeys(formats):  # keep the caller's order, drop repeats
        renderer = PER_MODEL_RENDERERS.get(fmt)
        if renderer is None:
            continue
        path = output_dir / f"{stem}.{fmt}"
        write_atomic(path, renderer(result))
        written.append(path)
    return written


def write_sarif(
    results: Sequence[ScanResult],
    path: Path,
    *,
    command_line: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    exit_code: int | None = None,
) -> Path:
    """Write one SARIF 2.1.0 log covering every scanned model; return its path. What the caller
    knows of the invocation (command line, start and end, the process's exit code) goes into
    the log's ``invocations``."""
    path = Path(path)
    _make_directory(path.parent)
    sarif = render_sarif(
        results, command_line=command_line, start_time=start_time, end_time=end_time, exit_code=exit_code
    )
    write_atomic(path, sarif)
    return path


def report_stem(model_path: str) -> str:
    """File-name stem for a model's reports: the model file's own stem, or "report"."""
    stem = PurePath(model_path).stem.strip()
    return stem if stem not in ("", ".", "..") else "report"


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(f"cannot create report directory {directory}: {err.strerror or err}") from err
