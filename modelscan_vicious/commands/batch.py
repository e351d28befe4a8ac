"""Batch scans: model lists from manifest files, and resuming a batch from the reports it already wrote.

A report is up to date, and its model is skipped unless `--force`, when `<output-dir>/<stem>.json`
(and the other requested per-model formats) exists and records the same model path and sha256, the
same tool version, report schema and settings (`settings`, less `sources`: where a value came from
does not change the scan), was scored by the calibration the scan would load now (a refit, or a file
without the labelled-only fit, changes P(vicious) and the verdict), and is newer than the labelled CSV
and the auxiliary data. A skipped model's
verdict counts in the exit code, and its report's result joins the SARIF file and `--output -`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.containment.result_codec import viciousness_from_dict
from modelscan_vicious.detectors.calibration import (
    HEAD,
    HELD_OUT_NOTE_PREFIX,
    calibration_for_scan,
    calibration_mode,
    has_calibration,
)
from modelscan_vicious.errors import DetectorError, UsageError
from modelscan_vicious.results import (
    SCHEMA_VERSION,
    ContainmentInfo,
    CostInfo,
    MitigationResult,
    ModelInfo,
    PluginOutcome,
    ReconstructionResult,
    ReferenceCacheInfo,
    ScanResult,
    Verdict,
)

_PER_MODEL_FORMATS = ("json", "html")
_VOLATILE_SETTINGS = ("sources",)


def read_manifest(path: Path) -> list[Path]:
    """Model paths from a manifest file: one per line; blank lines and `#` comments skipped; relative
    paths are relative to the manifest's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--manifest {path}: cannot read ({type(err).__name__})") from None
    entries = [line.split("#", 1)[0].strip() for line in lines]
    models = []
    for entry in filter(None, entries):
        model = Path(entry).expanduser()
        models.append(model if model.is_absolute() else path.parent / model)
    return models


def skip_up_to_date(
    models: list[Path], stems: list[str], config: ScanConfig, console: Any
) -> tuple[list[Path], list[str], list[ScanResult]]:
    """The models still to scan (with their report stems), and the results read from up-to-date reports."""
    if config.force or config.to_stdout:
        return models, stems, []
    todo, todo_stems, done = [], [], []
    for path, stem in zip(models, stems):
        result = _up_to_date_result(path, stem, config)
        if result is None:
            todo.append(path)
            todo_stems.append(stem)
            continue
        console.print(f"skipped (report up to date): {path}", highlight=False, soft_wrap=True, markup=False)
        done.append(result)
    return todo, todo_stems, done


def _up_to_date_result(path: Path, stem: str, config: ScanConfig) -> ScanResult | None:
    report = config.output_dir / f"{stem}.json"
    wanted = [config.output_dir / f"{stem}.{fmt}" for fmt in _PER_MODEL_FORMATS if fmt in config.formats]
    if not report.is_file() or not all(p.is_file() for p in wanted) or not path.is_file():
        return None
    if report.stat().st_mtime < max(_mtime(p) for p in (config.labels, config.aux)):
        return None  # the data changed after the report was written
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
        model = document["model"]
        if model.get("path") != str(path) or model.get("sha256") != _sha256(path):
            return None
        if document.get("tool_version") != _tool_version() or _stable(document["settings"]) != _stable(
            _json_settings(config)
        ):
            return None
        if document.get("schema_version") != SCHEMA_VERSION or not _same_calibration(document):
            return None
        return result_from_report(document)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # unreadable or from an older schema: scan again


def _same_calibration(document: dict[str, Any]) -> bool:
    """Whether a scan now would score P(vicious) with the calibration the report names (same fit, same kind
    of calibration data: a file that gained or lost the labelled-only fit changes a no-aux scan's verdict)
    and cite the same held-out record in its notes."""
    viciousness = document["viciousness"]
    if viciousness is None:
        return True  # no probability was computed: nothing calibrated to go stale
    try:
        references = (document.get("cost") or {}).get("reference_method", "scratch")
        current = calibration_for_scan(viciousness["mode"], document["settings"]["aux"] is None, references)
    except DetectorError:
        return False
    if _head_fit_changed(document):
        return False  # `auto` would now choose its references differently
    held_out = [note for note in viciousness.get("notes", []) if note.startswith(HELD_OUT_NOTE_PREFIX)]
    now = current.model.held_out_note()
    return bool(
        current.data == viciousness.get("calibration_data")
        and current.references == viciousness.get("calibration_references", "scratch")
        and current.model.describe() == viciousness["calibration"]
        and held_out == ([now] if now else [])
    )


def _head_fit_changed(document: dict[str, Any]) -> bool:
    """Whether a white-box `--references auto` scan's calibration file gained or lost its head fit since."""
    cost = document.get("cost")
    if cost is None or document["settings"].get("references") != "auto":
        return False
    if document["viciousness"]["mode"] != "white-box":
        return False
    mode = calibration_mode("white-box", document["settings"]["aux"] is None, HEAD)
    return has_calibration(mode) != bool(cost.get("head_calibrated", False))


def result_from_report(document: dict[str, Any]) -> ScanResult:
    """The ScanResult a JSON report was written from (without the HTML's example images)."""
    model, vic, rec = document["model"], document["viciousness"], document["reconstruction"]
    viciousness = viciousness_from_dict(vic)
    cache, containment, cost = document.get("reference_cache"), document.get("containment"), document.get("cost")
    return ScanResult(
        model=ModelInfo(**{**model, "input_shape": tuple(model["input_shape"])}),
        model_path=str(model["path"]),
        viciousness=viciousness,
        reconstruction=ReconstructionResult(**rec) if rec is not None else None,
        verdict=Verdict(**document["verdict"]),
        settings=dict(document["settings"]),
        environment=dict(document["environment"]),
        timings=dict(document["timings"]),
        plugins=[PluginOutcome(**p) for p in document["plugins"]],
        mitigations=[MitigationResult(**m) for m in document["mitigations"]],
        tool_version=str(document["tool_version"]),
        schema_version=str(document["schema_version"]),
        containment=ContainmentInfo(**containment) if containment else None,
        reference_cache=ReferenceCacheInfo(**cache) if cache else None,
        cost=CostInfo(**cost) if cost else None,
    )


def _json_settings(config: ScanConfig) -> dict[str, Any]:
    from modelscan_vicious.reports.json_report import to_json_safe

    return json.loads(json.dumps(to_json_safe(config.settings_dict())))


def _stable(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k not in _VOLATILE_SETTINGS}


def _mtime(path: Path | None) -> float:
    try:
        return path.stat().st_mtime if path is not None else 0.0
    except OSError:
        return 0.0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _tool_version() -> str:
    from modelscan_vicious import __version__

    return __version__
