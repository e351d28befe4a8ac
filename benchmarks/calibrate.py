"""Fit the detector's calibration from scans of a calibration zoo, and ship it as calibration.json.

    python benchmarks/zoo.py --dataset digits --archs mlp,cnn,rescnn --seed-base 100 --out benchmarks/out/calib
    MODELSCAN_VICIOUS_CALIBRATION=benchmarks/neutral_calibration.json \
        python benchmarks/scan_zoo.py --zoo benchmarks/out/calib --out benchmarks/out/calib-scans.json
    python benchmarks/calibrate.py --scans benchmarks/out/calib-scans.json --zoo-command "..."

The scans run with a neutral calibration (all coefficients 0): only their evidence z-scores are used.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

from modelscan_vicious.detectors.calibration import fit_calibration

WHITE_BOX = ("inversion_gain", "within_class_variance", "within_class_rank", "finetune_drift")
BLACK_BOX = ("inversion_gain", "within_class_variance", "within_class_rank")
TARGET = Path(__file__).resolve().parents[1] / "modelscan_vicious" / "calibration.json"


def calibrate(rows: list[dict], source: str) -> dict:
    labels = [1 if r["label"] == "vicious" else 0 for r in rows]
    z_rows = [r["z"] for r in rows]
    return {
        "provenance": {
            "created": date.today().isoformat(),
            "dataset": source,
            "n_models": len(rows),
            "n_honest": labels.count(0),
            "n_vicious": labels.count(1),
            "models": sorted(r["name"] for r in rows),
            "method": "scikit-learn LogisticRegression(C=0.5, class_weight='balanced') on clipped evidence z-scores",
            "refit_with": "benchmarks/calibrate.py (see docs/benchmarks.md)",
        },
        "modes": {
            "white-box": fit_calibration(z_rows, labels, WHITE_BOX),
            "black-box": fit_calibration(z_rows, labels, BLACK_BOX),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, required=True)
    parser.add_argument("--source", default="digits zoo: mlp, cnn, rescnn; seeds 100-129")
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    rows = [r for r in json.loads(args.scans.read_text()) if r["z"]]
    document = calibrate(rows, args.source)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    for mode, entry in document["modes"].items():
        print(mode, dict(zip(entry["features"], np.round(entry["coef"], 3))), "intercept", round(entry["intercept"], 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
