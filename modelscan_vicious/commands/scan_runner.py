"""Running scans for the CLI: the models to scan, one scan per model, reports, summary, exit code."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.errors import EXIT_NOTHING_SCANNED, EXIT_PASSED, EXIT_SCAN_ERROR, ScanError


def run_scan(models: list[Path], config: ScanConfig) -> int:
    """Scan each model, write its reports, print a summary; return the worst exit code."""
    from rich.console import Console

    from modelscan_vicious.commands.batch import skip_up_to_date
    from modelscan_vicious.commands.progress import batch_progress, stage_progress
    from modelscan_vicious.reports import write_reports, write_sarif
    from modelscan_vicious.scanning.parallel import scan_many

    started = datetime.now(timezone.utc)
    console = Console(stderr=True)
    given, models = models, _expand_folders(models, console)
    if not models:
        console.print("nothing to scan" if given else "nothing to scan: no model given")
        return EXIT_NOTHING_SCANNED
    stems = _report_stems(models)
    models, stems, results = skip_up_to_date(models, stems, config, console)  # resuming a batch
    worst = max([EXIT_PASSED, *(result.verdict.exit_code for result in results)])

    def stage_reporter(index: int, path: Path):
        return stage_progress(console, f"[{index + 1}/{len(models)}] {path.name}", config.quiet)

    # Parallel scans report no stages, so they get one bar over the models (Rich shows one bar at a time).
    with batch_progress(console, len(models), config.quiet or config.jobs <= 1) as finished:
        for index, path, outcome in scan_many(models, config, stage_reporter):
            finished()
            try:
                if isinstance(outcome, ScanError):
                    raise outcome
                written = (
                    []
                    if config.to_stdout
                    else write_reports(outcome, config.output_dir, config.formats, stem=stems[index])
                )
            except ScanError as err:  # bad input: one line, no report
                console.print(f"error: {err}", highlight=False, soft_wrap=True, markup=False)
                worst = max(worst, err.exit_code)
                continue
            results.append(outcome)
            worst = max(worst, outcome.verdict.exit_code)
            _summary(console, path, outcome, written)
    if not results:
        worst = max(worst, EXIT_SCAN_ERROR)
    if "sarif" in config.formats and results:
        sarif = write_sarif(
            results,
            config.output_dir / "modelscan-vicious.sarif",
            command_line=shlex.join(["modelscan-vicious", *sys.argv[1:]]),
            start_time=started,
            end_time=datetime.now(timezone.utc),
            exit_code=worst,
        )
        console.print(f"SARIF for all models: {sarif}", highlight=False, soft_wrap=True, markup=False)
    if config.to_stdout and results:
        _print_json(results)
    return worst


def _expand_folders(paths: list[Path], console) -> list[Path]:
    """Each folder replaced by the model files under it (recursively, by suffix, sorted); files as given."""
    from modelscan_vicious.loading import ONNX_SUFFIXES, TORCHSCRIPT_SUFFIXES

    suffixes = ONNX_SUFFIXES | TORCHSCRIPT_SUFFIXES
    models: list[Path] = []
    for path in paths:
        if not path.is_dir():
            models.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
        if not found:
            message = f"nothing to scan in {path}: no {', '.join(sorted(suffixes))} files"
            console.print(message, highlight=False, soft_wrap=True, markup=False)
        models.extend(found)
    return models


def _print_json(results: list) -> None:
    """`--output -`: the JSON report on stdout (a list when several models were scanned)."""
    import json
    import sys

    from modelscan_vicious.reports import render_json

    if len(results) == 1:
        sys.stdout.write(render_json(results[0]))
    else:
        documents = [json.loads(render_json(result)) for result in results]
        sys.stdout.write(json.dumps(documents, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _report_stems(models: list[Path]) -> list[str]:
    """One distinct report name per model, in order; a name already taken gets -2, -3, ... appended.

    Compared case-insensitively, so reports cannot overwrite each other on macOS or Windows either.
    """
    stems: list[str] = []
    taken: set[str] = set()
    for path in models:
        base = path.stem or "report"
        stem, n = base, 1
        while stem.lower() in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def _summary(console, path: Path, result, written: list[Path]) -> None:
    verdict = result.verdict
    colour = {"passed": "green", "failed": "red"}.get(verdict.status, "yellow")
    parts = [f"[{colour}]{verdict.status.upper()}[/{colour}] {path}"]
    if result.viciousness is not None and result.viciousness.probability is not None:
        low, high = result.viciousness.interval or (float("nan"), float("nan"))
        parts.append(f"P(vicious) {result.viciousness.probability:.2f} [{low:.2f}-{high:.2f}]")
    if result.reconstruction is not None:
        refs = result.reconstruction.reference_R
        ref_text = f" (honest refs {min(refs):.2f}-{max(refs):.2f})" if refs else ""
        parts.append(f"R {result.reconstruction.R:.3f}{ref_text}, SSIM {result.reconstruction.ssim:.3f}")
    console.print(" | ".join(parts), highlight=False, soft_wrap=True)
    if verdict.status == "error":
        console.print(f"  reason: {verdict.reasons[0]}", highlight=False, soft_wrap=True)
    if written:
        console.print(f"  report: {', '.join(str(p) for p in written)}", highlight=False, soft_wrap=True)
