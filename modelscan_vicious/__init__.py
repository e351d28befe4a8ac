"""modelscan-vicious: scan image classifiers for training that makes their outputs invertible.

Python API (README "Python API")::

    import modelscan_vicious

    result = modelscan_vicious.scan("model.onnx", labels="small.csv", budget="fast")
    print(result.verdict.status, result.to_dict()["reconstruction"]["R"])
    modelscan_vicious.write_reports(result, "reports", ["json", "html"])
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Imported on first use, so `import modelscan_vicious` (and the CLI's --help) stays instant.
_LAZY = {
    "scan": "modelscan_vicious.api",
    "ScanResult": "modelscan_vicious.results",
    "write_reports": "modelscan_vicious.reports",
    "write_sarif": "modelscan_vicious.reports",
    "render_json": "modelscan_vicious.reports",
    "render_html": "modelscan_vicious.reports",
    "render_sarif": "modelscan_vicious.reports",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'modelscan_vicious' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
