"""Scan every model of a zoo with the CLI and collect probability, evidence z-scores, R and wall time.

    python -m benchmarks.scan_zoo --zoo benchmarks/out/calib --out benchmarks/out/calib-scans.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from modelscan_vicious.cli import main as cli


def scan_zoo(zoo: Path, budget: str = "fast", seed: int = 0, with_aux: bool = True,
             names: set[str] | None = None) -> list[dict]:  # fmt: skip
    rows = []
    report_dir = zoo / "reports"
    for entry in json.loads((zoo / "manifest.json").read_text()):
        if names is not None and entry["name"] not in names:
            continue
        argv = ["scan", str(zoo / entry["file"]), "--labels", str(zoo / entry["labels_csv"]), "--output-dir",
                str(report_dir), "--budget", budget, "--seed", str(seed), "--quiet", "--format", "json"]  # fmt: skip
        if with_aux:
            argv += ["--aux", str(zoo / entry["aux"])]
        start = time.perf_counter()
        code = cli(argv)
        seconds = time.perf_counter() - start
        report = json.loads((report_dir / f"{Path(entry['file']).stem}.json").read_text())
        vic = report["viciousness"] or {}
        rows.append({
            "name": entry["name"], "label": entry["label"], "architecture": entry["architecture"],
            "format": entry["format"], "release": entry["release"], "test_accuracy": entry["test_accuracy"],
            "decoder_ssim": entry["decoder_ssim"], "exit_code": code, "seconds": round(seconds, 1),
            "probability": vic.get("probability"), "interval": vic.get("interval"),
            "z": {e["name"]: e["z_score"] for e in vic.get("evidence", [])},
            "R": (report["reconstruction"] or {}).get("R"), "ssim": (report["reconstruction"] or {}).get("ssim"),
            "reference_R": (report["reconstruction"] or {}).get("reference_R"),
            "report": str(report_dir / f"{Path(entry['file']).stem}.json"),
        })  # fmt: skip
        print(f"{entry['name']:28s} {entry['label']:8s} exit {code} p={rows[-1]['probability']} {seconds:.1f}s",
              flush=True)  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", default="fast")
    parser.add_argument("--no-aux", action="store_true")
    parser.add_argument("--names", default=None, help="comma list: scan only these and merge into --out")
    args = parser.parse_args(argv)
    names = set(args.names.split(",")) if args.names else None
    rows = scan_zoo(args.zoo, args.budget, with_aux=not args.no_aux, names=names)
    if names is not None and args.out.exists():
        rows = [r for r in json.loads(args.out.read_text()) if r["name"] not in names] + rows
    args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
