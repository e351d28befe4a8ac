"""Wall time of a default scan per architecture, with the threads a user's machine gives it.

Scans two honest models per architecture of a zoo (zoo formats alternate, so one is ONNX and one
TorchScript; a vicious model of the same architecture costs the same) with the default `fast`
budget and reports total seconds and the seconds of each stage, from the report's own timings.

    python -m benchmarks.speed --zoo benchmarks/out/mnist --threads 2 --section speed-mnist
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.markdown import table, update_section
from benchmarks.scan_zoo import checked_device, scan_argv
from modelscan_vicious.cli import main as cli
from modelscan_vicious.scanning.stages import MITIGATIONS
from modelscan_vicious.scanning.stages import STAGES as SCAN_STAGES
from modelscan_vicious.training.architectures import ARCHITECTURES

STAGES = tuple(s for s in SCAN_STAGES if s != MITIGATIONS)  # speed runs do not mitigate


def time_scan(zoo: Path, entry: dict, out: Path, device: str | None = None) -> dict:
    start = time.perf_counter()
    cli(scan_argv(zoo, entry, out, device=device))
    seconds = time.perf_counter() - start
    report = load_json(out / f"{Path(entry['file']).stem}.json")
    return {
        "name": entry["name"],
        "architecture": entry["architecture"],
        "format": entry["format"],
        "seconds": seconds,
        "timings": report["timings"],
    }


def render(rows: list[dict], threads: int, command: str, device: str = "cpu") -> str:
    body = table(
        ["model", "format", "total s", *[f"{s} s" for s in STAGES]],
        [[r["name"], r["format"], r["seconds"], *[float(r["timings"].get(s, 0.0)) for s in STAGES]] for r in rows],
    )
    where = f"{threads} PyTorch threads" + (f", --device {device}" if device != "cpu" else "")
    return (
        f"### Scan time per architecture ({where}, nothing else running)\n\n"
        f"Command:\n\n```bash\n{command}\n```\n\n{body}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--recipes", default="honest,honest-smooth", help="which recipes' models to time per architecture"
    )
    parser.add_argument("--device", default="cpu", help="the scans' --device (cpu or cuda)")
    parser.add_argument("--section", default="speed")
    args = parser.parse_args(argv)
    checked_device(args.device)
    torch.set_num_threads(args.threads)
    names = {f"{arch}-{recipe}" for recipe in args.recipes.split(",") for arch in ARCHITECTURES}
    entries = sorted(
        (e for e in load_json(args.zoo / "manifest.json") if e["name"] in names),
        key=lambda e: (e["architecture"], e["format"]),
    )
    if not entries:
        raise BenchmarkInputError(f"{args.zoo / 'manifest.json'}: no model of recipes {args.recipes}")
    rows = []
    for entry in entries:
        rows.append(time_scan(args.zoo, entry, args.zoo / "speed-reports", args.device))
        print(entry["name"], f"{rows[-1]['seconds']:.1f}s", rows[-1]["timings"], flush=True)
    device = f" --device {args.device}" if args.device != "cpu" else ""
    command = f"python -m benchmarks.speed --zoo {args.zoo} --threads {args.threads}{device} --section {args.section}"
    update_section(args.section, render(rows, args.threads, command, args.device))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
