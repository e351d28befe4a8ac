"""Benchmark scripts fail like the tool does: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2


class BenchmarkInputError(ValueError):
    """An input file exists but does not say what the benchmark needs."""


def run_main(main: Callable[[], int]) -> int:
    try:
        return main()
    except FileNotFoundError as err:
        message = f"{err.filename}: no such file"
    except json.JSONDecodeError as err:
        message = f"not valid JSON ({err.msg}, line {err.lineno})"
    except KeyError as err:
        message = f"a scan or manifest entry lacks the field {err}"
    except BenchmarkInputError as err:
        message = str(err)
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def load_json(path) -> object:
    """Parse a JSON file; a malformed one names itself in the error."""
    from pathlib import Path

    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise BenchmarkInputError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
