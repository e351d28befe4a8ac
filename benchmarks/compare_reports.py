"""Are two folders of JSON reports the same scan results? Every value compared, apart from what differs
between identical scans (timings, the cost estimate's measured seconds, reference-cache status) and
what a refactor may add (the fields listed with --ignore).

    python -m benchmarks.compare_reports BEFORE_DIR AFTER_DIR [--ignore .schema_version --ignore .containment]

Prints one line per report, IDENTICAL or its first differences; exit 1 when any differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ALWAYS_IGNORED = (".timings", ".cost.step_seconds", ".cost.estimated_seconds", ".reference_cache")


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def differences(before: dict, after: dict, ignored: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    a, b = dict(flatten(before)), dict(flatten(after))
    keys = sorted(set(a) | set(b))
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k) and not k.startswith(ignored)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--ignore", action="append", default=[], help="a flattened key prefix, e.g. .containment")
    args = parser.parse_args(argv)
    ignored = (*ALWAYS_IGNORED, *args.ignore)
    worst = 0
    for path in sorted(args.before.glob("*.json")):
        other = args.after / path.name
        if not other.exists():
            print(f"{path.name}: missing in {args.after}")
            worst = 1
            continue
        found = differences(json.loads(path.read_text()), json.loads(other.read_text()), ignored)
        print(f"{path.name}: {'IDENTICAL' if not found else found[:5]}")
        worst = max(worst, int(bool(found)))
    return worst


if __name__ == "__main__":
    sys.exit(main())
