"""`modelscan-vicious scan`: how likely is each model vicious, and how well can its outputs be inverted?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelscan_vicious.config import DEFAULT_FAIL_ON_PROBABILITY, DEFAULT_FAIL_ON_RISK, DEFAULT_MAX_MEMORY

_HELP_RELEASE = "What the deployment sends: logits, softmax, top-K (e.g. top-3) or label."


def scan_command(
    models: Annotated[list[Path], typer.Argument(help="ONNX (.onnx) or TorchScript (.pt) classifiers to scan.")],
    labels: Annotated[Path, typer.Option(help="Small labelled CSV: label + pixel columns, or path,label.")],
    aux: Annotated[
        Path | None, typer.Option(help="Unlabelled attacker inputs: .npz (x), image folder, IDX, or 'noise'.")
    ] = None,
    release: Annotated[str, typer.Option(help=_HELP_RELEASE)] = "logits",
    output_dir: Annotated[Path, typer.Option(help="Where reports are written.")] = Path("modelscan-report"),
    format: Annotated[str, typer.Option("--format", help="Comma list of json, html, sarif.")] = "json,html",
    fail_on_probability: Annotated[
        float, typer.Option(help="Fail when P(vicious) is at least this.")
    ] = DEFAULT_FAIL_ON_PROBABILITY,
    fail_on_risk: Annotated[
        float, typer.Option(help="Fail when reconstruction risk R is at least this.")
    ] = DEFAULT_FAIL_ON_RISK,
    seed: Annotated[int, typer.Option(help="Seed for every random choice; same seed, same numbers.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    budget: Annotated[str, typer.Option(help="fast (CI), standard or thorough.")] = "fast",
    input_shape: Annotated[str | None, typer.Option(help="C,H,W when it cannot be inferred (TorchScript).")] = None,
    input_range: Annotated[str, typer.Option(help="Range the model expects: 0-1, 0-255 or -1-1.")] = "0-1",
    mean: Annotated[
        str | None, typer.Option(help="Per-channel mean the model expects subtracted, e.g. 0.5,0.5,0.5.")
    ] = None,
    std: Annotated[str | None, typer.Option(help="Per-channel std the model expects divided by.")] = None,
    pixel_range: Annotated[str, typer.Option(help="Pixel scale of the CSV: auto, 0-1 or 0-255.")] = "auto",
    mitigate: Annotated[
        bool, typer.Option("--mitigate", help="Also measure output mitigations (noise, top-K, rounding, label).")
    ] = False,
    jobs: Annotated[int, typer.Option(help="Scan this many models in parallel processes.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line per model.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(help="Wall-clock limit per model in seconds (default: fast 1800, standard 3600, thorough 14400)."),
    ] = None,
    max_memory: Annotated[
        str, typer.Option(help="Memory limit per model, e.g. 8G or 512M (address space of the contained worker).")
    ] = DEFAULT_MAX_MEMORY,
    allow_weak_containment: Annotated[
        bool,
        typer.Option(
            "--allow-weak-containment",
            help="Scan even where Landlock or network namespaces are missing (recorded in the report).",
        ),
    ] = False,
    no_containment: Annotated[
        bool,
        typer.Option(
            "--no-containment",
            hidden=True,
            help="Run in-process, uncontained (overhead measurements of trusted models only).",
        ),
    ] = False,
) -> None:
    """Scan MODEL... for vicious training; exit 0 passed, 1 risk found, 2 scan error, 3 nothing scanned, 4 usage."""
    from modelscan_vicious.commands.scan_runner import build_config, run_scan
    from modelscan_vicious.config import parse_memory

    config = build_config(
        labels=labels,
        aux=aux,
        release=release,
        output_dir=output_dir,
        formats=format,
        fail_on_probability=fail_on_probability,
        fail_on_risk=fail_on_risk,
        seed=seed,
        device=device,
        budget=budget,
        input_shape=input_shape,
        input_range=input_range,
        mean=mean,
        std=std,
        pixel_range=pixel_range,
        mitigate=mitigate,
        jobs=jobs,
        quiet=quiet,
        timeout=timeout,
        max_memory_bytes=parse_memory(max_memory),
        containment=not no_containment,
        allow_weak_containment=allow_weak_containment,
    )
    raise typer.Exit(run_scan(models, config))
