"""Running scans for the CLI: config from flags, one scan per model, reports, summary, exit code."""

from __future__ import annotations

from pathlib import Path

from modelscan_vicious.config import BUDGETS, ScanConfig, parse_input_shape, resolve_device
from modelscan_vicious.data.scaling import InputScaling
from modelscan_vicious.errors import EXIT_NOTHING_SCANNED, EXIT_PASSED, EXIT_SCAN_ERROR, ScanError, UsageError


def build_config(
    *,
    labels: Path,
    aux: Path | None,
    formats: str,
    budget: str,
    device: str,
    input_shape: str | None,
    input_range: str,
    mean: str | None,
    std: str | None,
    **rest,
) -> ScanConfig:
    if budget not in BUDGETS:
        raise UsageError(f"--budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    scaling = InputScaling(input_range=input_range, mean=_floats(mean, "--mean"), std=_floats(std, "--std"))
    return ScanConfig(
        labels=labels,
        aux=aux,
        formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        budget=BUDGETS[budget],
        device=resolve_device(device),
        input_shape=parse_input_shape(input_shape),
        scaling=scaling,
        **rest,
    )


def _floats(text: str | None, flag: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated numbers, got {text!r}") from None


def run_scan(models: list[Path], config: ScanConfig) -> int:
    """Scan each model, write its reports, print a summary; return the worst exit code."""
    from rich.console import Console

    from modelscan_vicious.reports import write_reports, write_sarif
    from modelscan_vicious.scan.parallel import scan_many

    console = Console(stderr=True)
    if not models:
        console.print("nothing to scan: no model given")
        return EXIT_NOTHING_SCANNED
    stems = _report_stems(models)
    results, worst = [], EXIT_PASSED

    def stage_reporter(index: int, path: Path):
        return _status(console, f"[{index + 1}/{len(models)}] {path.name}", config.quiet)

    for index, path, outcome in scan_many(models, config, stage_reporter):
        try:
            if isinstance(outcome, ScanError):
                raise outcome
            written = write_reports(outcome, config.output_dir, config.formats, stem=stems[index])
        except ScanError as err:  # bad input: one line, no report
            console.print(f"error: {err}", highlight=False, soft_wrap=True, markup=False)
            worst = max(worst, err.exit_code)
            continue
        results.append(outcome)
        worst = max(worst, outcome.verdict.exit_code)
        _summary(console, path, outcome, written)
    if "sarif" in config.formats and results:
        write_sarif(results, config.output_dir / "modelscan-vicious.sarif")
    if not results:
        return max(worst, EXIT_SCAN_ERROR)
    return worst


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


STAGES = ("load", "references", "attack", "detector", "white-box attack", "mitigations")


def _status(console, label: str, quiet: bool):
    """A Rich progress bar over the scan's stages, on stderr; nothing when quiet or not a terminal."""
    from contextlib import contextmanager

    @contextmanager
    def status():
        if quiet or not console.is_terminal:
            yield lambda stage: None
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{label}: starting", total=len(STAGES))

            def on_stage(stage: str) -> None:
                done = STAGES.index(stage) if stage in STAGES else 0
                progress.update(task, description=f"{label}: {stage}", completed=done)

            yield on_stage

    return status()


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
