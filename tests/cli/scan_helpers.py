"""Helpers for scanning the session's tiny models through `modelscan_vicious.cli.main`.

Scans use `--budget fast` with the `fast` budget swapped for a tiny one (about a second per model),
and a calibration file written here, so no test depends on the shipped coefficients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

import modelscan_vicious.config as config
from modelscan_vicious.cli import main
from modelscan_vicious.detectors.calibration import CALIBRATION_ENV

_TINY = dict(
    n_references=2,
    reference_epochs=2,
    finetune_steps=5,
    attack_epochs=3,
    max_aux=300,
    n_bootstrap=20,
    rmle_steps=10,
    rmle_samples=8,
)
# Built from the real `fast` budget, so a field added to Budget later keeps its default here.
TINY_BUDGET = replace(config.BUDGETS["fast"], **{k: v for k, v in _TINY.items() if hasattr(config.BUDGETS["fast"], k)})
WHITE_BOX = ["inversion_gain", "within_class_variance", "within_class_rank", "finetune_drift"]
LOW_P_INTERCEPT = -30.0  # p ~ 1e-13 whatever the evidence: the probability gate never trips
HIGH_RISK_GATE = "100"  # no R reaches it: the risk gate never trips


def write_calibration(
    path: Path,
    *,
    gain_coef: float = 0.0,
    intercept: float = LOW_P_INTERCEPT,
    labelled_only: bool = False,
    head: bool = False,
) -> Path:
    """A calibration file for CLI tests; `labelled_only` adds the same fit for scans without --aux, `head`
    the same white-box fit for head-reference scans."""
    modes = {
        "white-box": {"features": WHITE_BOX, "coef": [gain_coef, 0, 0, 0], "intercept": intercept},
        "black-box": {"features": WHITE_BOX[:3], "coef": [gain_coef, 0, 0], "intercept": intercept},
    }
    if labelled_only:
        modes.update({f"{access}/labelled-only": entry for access, entry in list(modes.items())})
    if head:
        modes["white-box/head"] = modes["white-box"]
    provenance = {"n_models": 2, "n_honest": 1, "n_vicious": 1, "dataset": "cli-tests", "created": "now"}
    path.write_text(json.dumps({"provenance": provenance, "modes": modes}))
    return path


@contextmanager
def tiny_scan_settings(calibration: Path) -> Iterator[pytest.MonkeyPatch]:
    """Tiny `fast` budget and our calibration, for module-scoped fixtures that cannot use `monkeypatch`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(config.BUDGETS, "fast", TINY_BUDGET)
        patch.setenv(CALIBRATION_ENV, str(calibration))
        yield patch


def scan(models: list[Path], out: Path, *extra: str, labels: Path, aux: Path | None = None) -> int:
    """`modelscan-vicious scan` with the tiny budget; returns the exit code."""
    args = ["scan", *map(str, models), "--labels", str(labels), "--output-dir", str(out), "--budget", "fast", "-q"]
    if aux is not None:
        args += ["--aux", str(aux)]
    return main([*args, *extra])


def report(out: Path, stem: str) -> dict:
    return json.loads((out / f"{stem}.json").read_text())


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []
