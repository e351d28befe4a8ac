"""Scan every model of a zoo with the CLI and collect probability, evidence z-scores, R and wall time.

python -m benchmarks.scan_zoo --zoo benchmarks/out/calib --out benchmarks/out/calib-scans.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from modelscan_vicious.cli import main as cli


def scan_zoo(
    zoo: Path,
    budget: str = "fast",
    seed: int = 0,
    with_aux: bool = True,
    names: set[str] | None = None,
    from_reports: bool = False,
    device: str | None = None,
    references: str | None = None,
    timeout_s: float | None = None,
) -> list[dict]:
    """Scan each model (or, with from_reports, read the reports an earlier run left) and return rows.
    `references`, `timeout_s`: the scans' --references and --timeout. Reports go to
    `reports[-<method>][-noaux]` in the zoo."""
    rows = []
    report_dir = zoo / f"reports{'' if references is None else '-' + references}{'' if with_aux else '-noaux'}"
    for entry in load_json(zoo / "manifest.json"):
        if names is not None and entry["name"] not in names:
            continue
        report_path = report_dir / f"{Path(entry['file']).stem}.json"
        if from_reports:
            report = load_json(report_path)
            seconds = sum(report["timings"].values())
            rows.append(row(entry, report, report["verdict"]["exit_code"], seconds, report_path))
            continue
        start = time.perf_counter()
        argv = scan_argv(zoo, entry, report_dir, budget=budget, seed=seed, with_aux=with_aux, device=device)
        argv += ["--references", references] if references else []
        code = cli(argv + (["--timeout", str(timeout_s)] if timeout_s else []))
        seconds = time.perf_counter() - start
        rows.append(row(entry, load_json(report_path), code, seconds, report_path))
        print(
            f"{entry['name']:28s} {entry['label']:8s} exit {code} p={rows[-1]['probability']} {seconds:.1f}s",
            flush=True,
        )
    return rows


def scan_argv(
    zoo: Path,
    entry: dict,
    report_dir: Path,
    *,
    budget: str = "fast",
    seed: int = 0,
    with_aux: bool = True,
    device: str | None = None,
) -> list[str]:
    """The `scan` command line for one zoo model, JSON report only."""
    argv = [
        "scan",
        str(zoo / entry["file"]),
        "--labels",
        str(zoo / entry["labels_csv"]),
        "--output-dir",
        str(report_dir),
        "--budget",
        budget,
        "--seed",
        str(seed),
        "--quiet",
        "--format",
        "json",
    ]
    argv += ["--device", device] if device else []
    return argv + ["--aux", str(zoo / entry["aux"])] if with_aux else argv


def checked_device(device: str | None) -> str | None:
    """The scans' --device, refused once up front rather than by every scan of the zoo."""
    from modelscan_vicious.config import DEVICES

    if device is not None and device not in DEVICES:
        raise BenchmarkInputError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    return device


def row(entry: dict, report: dict, code: int, seconds: float, report_path: Path) -> dict:
    """One zoo model's line: its manifest facts and what the scan found."""
    vic = report["viciousness"] or {}
    reconstruction = report["reconstruction"] or {}
    return {
        "name": entry["name"],
        "label": entry["label"],
        "architecture": entry["architecture"],
        "format": entry["format"],
        "release": entry["release"],
        "decoder_input": entry["training"].get("decoder_input", "raw"),
        "test_accuracy": entry["test_accuracy"],
        "decoder_ssim": entry["decoder_ssim"],
        "exit_code": code,
        "seconds": round(seconds, 1),
        "probability": vic.get("probability"),
        "interval": vic.get("interval"),
        "z": {e["name"]: e["z_score"] for e in vic.get("evidence", [])},
        "R": reconstruction.get("R"),
        "ssim": reconstruction.get("ssim"),
        "reference_R": reconstruction.get("reference_R"),
        "report": str(report_path),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", default="fast")
    parser.add_argument("--no-aux", action="store_true")
    parser.add_argument("--device", default=None, help="the scans' --device (default: scan's own, auto)")
    parser.add_argument("--references", default=None, help="the scans' --references (default: scan's own, auto)")
    parser.add_argument("--names", default=None, help="comma list: scan only these and merge into --out")
    parser.add_argument(
        "--timeout", type=float, default=None, help="the scans' --timeout in seconds (default: the budget's)"
    )
    parser.add_argument(
        "--from-reports",
        action="store_true",
        help="no scanning: rebuild rows from the reports a run left (seconds = sum of its stage timings)",
    )
    args = parser.parse_args(argv)
    if args.timeout is not None and args.timeout <= 0:
        raise BenchmarkInputError(f"--timeout must be positive seconds, got {args.timeout}")
    names = set(args.names.split(",")) if args.names else None
    rows = scan_zoo(
        args.zoo,
        args.budget,
        with_aux=not args.no_aux,
        names=names,
        from_reports=args.from_reports,
        device=checked_device(args.device),
        references=args.references,
        timeout_s=args.timeout,
    )
    if names is not None and args.out.exists():
        rows = [r for r in load_json(args.out) if r["name"] not in names] + rows
    args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
