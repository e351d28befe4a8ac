"""How far a zoo's current rows are from a per-model table an earlier release published: which models
differ (test accuracy or G SSIM) and how far each evidence z-score moved.

    python -m benchmarks.compare_tables --revision 785c642 --section detect-calib \\
        --scans benchmarks/out/aux/calib-scans.json benchmarks/out/aux/mnist-calib-a-scans.json \\
        benchmarks/out/aux/mnist-calib-b-scans.json

With --zoo Z --reports DIR it also counts the zoo's ONNX files whose bytes are those the archived
reports in DIR name (TorchScript files record source paths, so only ONNX is compared).

Give the scans files the table pooled: rows are named ZOO/NAME when it pooled several, NAME otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.detect import Z_COLUMNS
from benchmarks.errors import BenchmarkInputError, load_json, run_main
from benchmarks.scan_rows import read_scan_rows

MODEL_COLUMNS = 16  # model .. z finetune_drift in detect's per-model table
TOLERANCE = 0.0015  # beyond the table's rounding to three decimals


def published_rows(revision: str, section: str) -> dict[str, list[str]]:
    """Per-model rows of `section` in docs/benchmarks.md as it was at `revision`."""
    done = subprocess.run(
        ["git", "show", f"{revision}:docs/benchmarks.md"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchmarkInputError(f"git show {revision}:docs/benchmarks.md failed: {done.stderr.strip()}")
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    if begin not in done.stdout:
        raise BenchmarkInputError(f"no section {section!r} in docs/benchmarks.md at {revision}")
    body = done.stdout[done.stdout.index(begin) : done.stdout.index(end)]
    cells = ([c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines())
    return {c[0]: c for c in cells if len(c) == MODEL_COLUMNS and c[1] in ("honest", "vicious")}


def compare(rows: list[dict], published: dict[str, list[str]]) -> dict:
    same_model, other_model, missing = [], [], []
    beyond_rounding = 0
    for r in rows:
        key = r["name"]  # read_scan_rows names pooled rows ZOO/NAME, as pooled tables do
        old = published.get(key)
        if old is None:
            missing.append(key)
            continue
        accuracy, g_ssim = float(old[4]), float(old[5])
        shown_differs = f"{r['test_accuracy']:.3f}" != old[4] or f"{r['decoder_ssim']:.3f}" != old[5]
        beyond_rounding += abs(r["test_accuracy"] - accuracy) > TOLERANCE or abs(r["decoder_ssim"] - g_ssim) > TOLERANCE
        moves = {z: abs(r["z"][z] - float(old[12 + i])) for i, z in enumerate(Z_COLUMNS)}
        (other_model if shown_differs else same_model).append((key, moves["inversion_gain"]))
    moved = same_model + other_model
    return {
        "models": len(moved),
        "not in the table": missing,
        "accuracy or G SSIM differ at three decimals": len(other_model),
        f"differ by more than {TOLERANCE}": int(beyond_rounding),
        "median inversion-gain move, same shown model": _median(same_model),
        "median inversion-gain move, other model": _median(other_model),
        "largest inversion-gain move": max(moved, key=lambda m: m[1]) if moved else None,
    }


def same_onnx_files(zoo: Path, reports: Path) -> tuple[int, int]:
    """(ONNX files whose sha256 is the one their archived report names, ONNX files in the zoo)."""
    same = total = 0
    for entry in load_json(zoo / "manifest.json"):  # type: ignore[union-attr]
        if entry["format"] != "onnx":
            continue
        total += 1
        report = load_json(reports / f"{Path(entry['file']).stem}.json")
        same += hashlib.sha256((zoo / entry["file"]).read_bytes()).hexdigest() == report["model"]["sha256"]
    return same, total


def _median(moves: list[tuple[str, float]]) -> float | None:
    return round(statistics.median(m for _, m in moves), 2) if moves else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", required=True, help="the git revision whose docs/benchmarks.md holds the table")
    parser.add_argument("--section", required=True)
    parser.add_argument("--scans", type=Path, nargs="+", required=True, help="the current rows (scan_zoo outputs)")
    parser.add_argument("--zoo", type=Path, default=None, help="also compare this zoo's ONNX files ...")
    parser.add_argument("--reports", type=Path, default=None, help="... with the models these reports name")
    args = parser.parse_args(argv)
    if (args.zoo is None) != (args.reports is None):
        raise BenchmarkInputError("--zoo and --reports go together")
    published = published_rows(args.revision, args.section)
    for key, value in compare(read_scan_rows(args.scans), published).items():
        print(f"{key}: {value}")
    if args.zoo is not None:
        same, total = same_onnx_files(args.zoo, args.reports)
        print(f"ONNX files byte-identical to the archived reports' models: {same} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
