"""Reading scan_zoo outputs: rows of one or several zoos, each row knowing its report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.errors import BenchmarkInputError, load_json


def read_scan_rows(paths: list[Path]) -> list[dict]:
    """Rows of all scan files, each with its report's path; pooled zoos get the zoo's name in front of model names."""
    rows = []
    for path in paths:
        zoo = path.parent / path.stem.removesuffix("-scans")  # scan_zoo's convention: <zoo>-scans.json
        for r in load_json(path):
            report = r.get("report") or str(zoo / "reports" / f"{Path(r['name']).name}.json")
            name = f"{zoo.name}/{r['name']}" if len(paths) > 1 else r["name"]
            rows.append({**r, "name": name, "report": report})
    return rows


def saved_evidence(row: dict) -> tuple[dict, dict, dict]:
    """(report, suspect values, reference values) of a row's scan, checked to be that scan's report."""
    report = load_json(Path(row["report"]))
    evidence = (report.get("viciousness") or {}).get("evidence") or []
    saved_z = {e["name"]: e["z_score"] for e in evidence}
    if row.get("z") and any(abs(row["z"][n] - saved_z.get(n, np.inf)) > 1e-9 for n in row["z"]):
        raise BenchmarkInputError(f"{row['report']}: not the report of the scan in this row (evidence differs); rescan")
    suspect = {e["name"]: e["suspect_value"] for e in evidence}
    references = {e["name"]: np.array(e["reference_values"]) for e in evidence}
    return report, suspect, references


def current_z(suspect: dict, references: dict) -> dict:
    """Evidence z-scores by the current code from saved values: what a scan made now would give."""
    from modelscan_vicious.detectors.statistics import robust_z

    return {n: robust_z(suspect[n], references[n]) for n in suspect}


def with_current_z(row: dict) -> dict:
    _, suspect, references = saved_evidence(row)
    return {**row, "z": current_z(suspect, references)}


def merge_scan_files(parts: list[Path], manifest: Path) -> list[dict]:
    """Rows of `parts` (later files win for the same model) in the zoo manifest's order."""
    by_name: dict[str, dict] = {}
    for part in parts:
        by_name.update({r["name"]: r for r in load_json(part)})
    order = [e["name"] for e in load_json(manifest)]
    unknown = sorted(set(by_name) - set(order))
    if unknown:
        raise BenchmarkInputError(f"{manifest}: no model named {', '.join(unknown)}")
    return [by_name[n] for n in order if n in by_name]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from modelscan_vicious.atomic_file import write_atomic

    parser = argparse.ArgumentParser(description="Merge scan_zoo files of one zoo (e.g. from parallel --names runs).")
    parser.add_argument("--zoo", type=Path, required=True)
    parser.add_argument("--parts", type=Path, nargs="+", required=True, help="later files win for the same model")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = merge_scan_files(args.parts, args.zoo / "manifest.json")
    write_atomic(args.out, json.dumps(rows, indent=2) + "\n")
    print(f"{len(rows)} rows in {args.out}")
    return 0


if __name__ == "__main__":
    import sys

    from benchmarks.errors import run_main

    sys.exit(run_main(main))
