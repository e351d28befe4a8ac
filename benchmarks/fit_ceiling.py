"""How far any refit of the calibration could go on one zoo: a logistic fit made on that zoo itself.

    python -m benchmarks.fit_ceiling --scans benchmarks/out/aux/rgb-heldout-scans.json
    python -m benchmarks.fit_ceiling --scans benchmarks/out/noaux/rgb-heldout-scans.json --no-aux

In-sample, so optimistic: when even this fit misses a target, the evidence falls short, not the fit.
The features and fitting are the shipped calibration's (benchmarks/calibrate.py); rows are the zoo's
honest models and the vicious ones that leak, as for the calibration.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.calibrate import LABELLED_ONLY_FEATURES, WHITE_BOX, calibration_rows
from benchmarks.detect import _auc, _log_loss
from benchmarks.errors import run_main
from benchmarks.leakage import leaking_vicious
from benchmarks.scan_rows import read_scan_rows, with_current_z
from modelscan_vicious.config import DEFAULT_FAIL_ON_PROBABILITY
from modelscan_vicious.detectors.calibration import CalibrationModel, fit_calibration


def fit_ceiling(rows: list[dict], features: tuple[str, ...]) -> dict:
    """The zoo scored by a fit made on its own rows (whole zoo and leaking-only)."""
    leaking = leaking_vicious(rows)
    kept, _ = calibration_rows(rows, leaking)
    entry = fit_calibration([r["z"] for r in kept], [int(r["label"] == "vicious") for r in kept], features)
    model = CalibrationModel("in-sample", features, np.asarray(entry["coef"]), entry["intercept"], {})
    p = np.array([model.probability(r["z"]) for r in rows])
    y = np.array([r["label"] == "vicious" for r in rows])
    keep = np.array([r["label"] == "honest" or r["name"] in leaking for r in rows])
    return {
        "coef": entry["coef"],
        "intercept": entry["intercept"],
        "auc": _auc(y, p),
        "log_loss": _log_loss(y, p),
        "auc_leaking": _auc(y[keep], p[keep]),
        "log_loss_leaking": _log_loss(y[keep], p[keep]),
        "honest_flagged": int(((p >= DEFAULT_FAIL_ON_PROBABILITY) & ~y).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, nargs="+", required=True, help="scan_zoo outputs, pooled")
    parser.add_argument("--no-aux", action="store_true", help="the scans were made without --aux")
    args = parser.parse_args(argv)
    rows = [with_current_z(r) for r in read_scan_rows(args.scans) if r["z"]]
    features = LABELLED_ONLY_FEATURES if args.no_aux else WHITE_BOX
    print(json.dumps(fit_ceiling(rows, features), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
