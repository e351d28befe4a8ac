"""`modelscan-vicious scan`: how likely is each model vicious, and how well can its outputs be inverted?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modelscan_vicious.settings import DEFAULTS

_HELP_RELEASE = "What the deployment sends: logits, softmax, top-K (e.g. top-3) or label."
_FLAG = {"metavar": ""}  # on/off flags: no "<bool>" type column in --help

EXAMPLES = """\
Examples:

  modelscan-vicious scan model.onnx --labels small.csv --aux unlabelled.npz

  modelscan-vicious scan models/ --labels small.csv --format json,sarif

  modelscan-vicious scan model.pt --labels small.csv -o - | jq .verdict

  modelscan-vicious scan --manifest models.txt --labels small.csv --executor ray

Settings can also come from modelscan-vicious.toml or \\[tool.modelscan-vicious] in pyproject.toml \
(keys as the flags, e.g. fail-on-risk = 1.3); flags win over the file.
"""


def scan_command(
    ctx: typer.Context,
    models: Annotated[
        list[Path] | None,
        typer.Argument(
            help="ONNX (.onnx) or TorchScript (.pt) classifiers, or folders holding them.", show_default=False
        ),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Small labelled CSV: label + pixel columns, or path,label.")
    ] = DEFAULTS["labels"],
    aux: Annotated[
        Path | None, typer.Option(help="Unlabelled attacker inputs: .npz (x), image folder, IDX, or 'noise'.")
    ] = DEFAULTS["aux"],
    release: Annotated[str, typer.Option(help=_HELP_RELEASE)] = DEFAULTS["release"],
    output_dir: Annotated[
        Path,
        typer.Option("--output-dir", "--output", "-o", help="Where reports are written; '-' writes JSON to stdout."),
    ] = DEFAULTS["output-dir"],
    format: Annotated[str, typer.Option("--format", help="Comma list of json, html, sarif.")] = DEFAULTS["format"],
    fail_on_probability: Annotated[float, typer.Option(help="Fail when P(vicious) is at least this.")] = DEFAULTS[
        "fail-on-probability"
    ],
    fail_on_risk: Annotated[
        str,
        typer.Option(
            help="Fail when R reaches this; 'auto': the honest references' highest R + 0.03 (same data, same attack)."
        ),
    ] = DEFAULTS["fail-on-risk"],
    seed: Annotated[int, typer.Option(help="Seed for every random choice; same seed, same numbers.")] = DEFAULTS[
        "seed"
    ],
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = DEFAULTS["device"],
    budget: Annotated[str, typer.Option(help="fast (CI), standard or thorough.")] = DEFAULTS["budget"],
    input_shape: Annotated[str | None, typer.Option(help="C,H,W when it cannot be inferred (TorchScript).")] = DEFAULTS[
        "input-shape"
    ],
    input_range: Annotated[str, typer.Option(help="Range the model expects: 0-1, 0-255 or -1-1.")] = DEFAULTS[
        "input-range"
    ],
    mean: Annotated[
        str | None, typer.Option(help="Per-channel mean the model expects subtracted, e.g. 0.5,0.5,0.5.")
    ] = DEFAULTS["mean"],
    std: Annotated[str | None, typer.Option(help="Per-channel std the model expects divided by.")] = DEFAULTS["std"],
    pixel_range: Annotated[str, typer.Option(help="Pixel scale of the CSV: auto, 0-1 or 0-255.")] = DEFAULTS[
        "pixel-range"
    ],
    mitigate: Annotated[
        bool,
        typer.Option("--mitigate", help="Also measure output mitigations (noise, top-K, rounding, label).", **_FLAG),
    ] = DEFAULTS["mitigate"],
    references: Annotated[
        str,
        typer.Option(
            help="Honest references: scratch (trained from scratch), head (the suspect with its head "
            "re-trained: large models) or auto (scratch when it fits --timeout and, given a head fit, 10 min)."
        ),
    ] = DEFAULTS["references"],
    jobs: Annotated[int, typer.Option(help="Scan this many models in parallel processes.")] = DEFAULTS["jobs"],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line per model.", **_FLAG)] = DEFAULTS[
        "quiet"
    ],
    timeout: Annotated[
        float | None,
        typer.Option(help="Wall-clock limit per model in seconds (default: fast 1800, standard 3600, thorough 14400)."),
    ] = DEFAULTS["timeout"],
    max_memory: Annotated[
        str, typer.Option(help="Memory limit per model, e.g. 8G or 512M (address space of the contained worker).")
    ] = DEFAULTS["max-memory"],
    allow_weak_containment: Annotated[
        bool,
        typer.Option(
            "--allow-weak-containment",
            help="Scan even where Landlock or network namespaces are missing (recorded in the report).",
            **_FLAG,
        ),
    ] = DEFAULTS["allow-weak-containment"],
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Reference cache folder (default: $XDG_CACHE_HOME/modelscan-vicious or ~/.cache/...)."),
    ] = DEFAULTS["cache-dir"],
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Train the honest references afresh and cache nothing.", **_FLAG)
    ] = DEFAULTS["no-cache"],
    manifest: Annotated[
        Path | None, typer.Option(help="File listing models to scan, one path per line (# comments).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rescan models whose reports are up to date.", **_FLAG)
    ] = DEFAULTS["force"],
    executor: Annotated[
        str, typer.Option(help="local (--jobs processes) or ray (one task per model on a Ray cluster).")
    ] = DEFAULTS["executor"],
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to use with --executor ray (default: start a local one).")
    ] = DEFAULTS["ray-address"],
    config: Annotated[
        Path | None,
        typer.Option(
            help="Settings file (default: ./modelscan-vicious.toml, or \\[tool.modelscan-vicious] in ./pyproject.toml)."
        ),
    ] = None,
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
    from modelscan_vicious.commands.batch import read_manifest
    from modelscan_vicious.commands.scan_runner import run_scan
    from modelscan_vicious.config_file import load_settings
    from modelscan_vicious.settings import build_config, merge_settings

    file = load_settings(config, Path.cwd())
    values, sources = merge_settings(_typed_flags(ctx), file)
    listed = [*(models or []), *(read_manifest(manifest) if manifest is not None else [])]
    raise typer.Exit(run_scan(listed, build_config(values, sources, containment=not no_containment)))


def _typed_flags(ctx: typer.Context) -> dict[str, Any]:
    """The settings the user typed (not Typer's defaults), keyed as in the config file."""
    typed = {}
    for name, value in ctx.params.items():
        key = name.replace("_", "-")
        source = ctx.get_parameter_source(name)
        if key in DEFAULTS and source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            typed[key] = value
    return typed
