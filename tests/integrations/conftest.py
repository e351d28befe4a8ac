"""Fixtures for the CI integrations users install: the GitHub Action (action.yml with
scripts/action_scan.sh) and the pre-commit hooks (.pre-commit-hooks.yaml).

These tests run the installed `modelscan-vicious` console script as a subprocess, the way the
action and the hooks do, on a copy of the shipped sample models.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from integration_helpers import SAMPLES


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """The environment for a scanner subprocess: one OpenMP thread (scans share two cores), and none
    of the GitHub Actions variables that the test does not set itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MSV_"))}
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture
def sample_workspace(tmp_path: Path) -> Path:
    """A workspace like a user's checkout: models/vicious-mlp.pt, data/labels.csv, data/aux.npz."""
    workspace = tmp_path / "workspace"
    (workspace / "models").mkdir(parents=True)
    (workspace / "data").mkdir()
    shutil.copy(SAMPLES / "vicious-mlp.pt", workspace / "models" / "vicious-mlp.pt")
    shutil.copy(SAMPLES / "digits_labels.csv", workspace / "data" / "labels.csv")
    shutil.copy(SAMPLES / "digits_aux.npz", workspace / "data" / "aux.npz")
    return workspace
