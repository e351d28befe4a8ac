"""Paths shared by the integration tests (imported by bare name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_models"
SCANNER = Path(sys.executable).parent / "modelscan-vicious"  # the console script of this environment
