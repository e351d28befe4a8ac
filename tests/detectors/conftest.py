"""A calibration file of our own, so detector tests never depend on the shipped coefficients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from modelscan_vicious.detectors.calibration import CALIBRATION_ENV

WHITE_BOX = ["inversion_gain", "within_class_variance", "within_class_rank", "finetune_drift"]
BLACK_BOX = WHITE_BOX[:3]


def calibration_document(
    *,
    gain_coef: float = 1.0,
    intercept: float = 0.0,
    labelled_only_intercept: float | None = None,
    head_intercept: float | None = None,
) -> dict:
    """Only inversion_gain counts: p = sigmoid(gain_coef * z_gain + intercept). With
    `labelled_only_intercept`, the file also holds the modes for scans without --aux (6 fixtures); with
    `head_intercept`, the white-box mode for head-reference scans with --aux (8 fixtures)."""
    modes = {
        "white-box": {"features": WHITE_BOX, "coef": [gain_coef, 0.0, 0.0, 0.0], "intercept": intercept},
        "black-box": {"features": BLACK_BOX, "coef": [gain_coef, 0.0, 0.0], "intercept": intercept},
    }
    if labelled_only_intercept is not None:
        own = {"provenance": {"n_models": 6, "dataset": "test, scanned without --aux"}}
        for access in ("white-box", "black-box"):
            modes[f"{access}/labelled-only"] = {**modes[access], "intercept": labelled_only_intercept, **own}
    if head_intercept is not None:
        head = {"provenance": {"n_models": 8, "dataset": "test, head references"}}
        modes["white-box/head"] = {**modes["white-box"], "intercept": head_intercept, **head}
    return {
        "provenance": {"n_models": 4, "n_honest": 2, "n_vicious": 2, "dataset": "test", "created": "today"},
        "modes": modes,
    }


@pytest.fixture
def use_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write a calibration file and point MODELSCAN_VICIOUS_CALIBRATION at it; returns its path."""

    def write(**kwargs) -> Path:
        path = tmp_path / "calibration.json"
        path.write_text(json.dumps(calibration_document(**kwargs)))
        monkeypatch.setenv(CALIBRATION_ENV, str(path))
        return path

    return write
