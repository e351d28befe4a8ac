"""Reading scan_zoo outputs: rows of one or several zoos, each row knowing its report."""

from __future__ import annotations

from pathlib import Path

from benchmarks.errors import load_json


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
