"""The large-scans table says which fit scored a head scan and why auto chose head references."""

from __future__ import annotations

from benchmarks.large_scans import row


def test_a_row_names_the_method_its_fit_and_the_reason_for_head_references():
    report = {
        "cost": {
            "parameters": 11_000_000,
            "estimated_seconds": {"references": 10.0, "detectors": 20.0},
            "reference_method": "head",
            "reference_choice": "head references, calibrated: from-scratch ones est. 23.0 min, above the 10.0 min",
            "reductions": [],
        },
        "timings": {"references": 12.0, "detectors": 18.5, "load": 3.0},
        "viciousness": {"probability": 0.123, "calibration_references": "head"},
        "verdict": {"status": "passed"},
    }
    cells = row("resnet18-cifar", {"report": report, "exit": 0, "wall_s": 40.0, "peak_mb": 900})
    assert cells[:8] == ["resnet18-cifar", "11,000,000", 0, "passed", 40.0, 900, 30, 30]  # load is not a stage
    assert cells[8].startswith("head (P from the head fit): head references, calibrated: from-scratch ones est.")
    assert cells[9:] == ["none", "0.12"]
    old = row("x", {"report": {"cost": {"reference_method": "scratch"}}, "exit": 2, "wall_s": 1.0, "peak_mb": 1})
    assert old[8] == "scratch" and old[-1] == "-"  # a report from before 1.5.0 names no fit
