"""benchmarks.fit_ceiling: a zoo scored by a fit made on its own rows."""

from __future__ import annotations

import pytest

from benchmarks.fit_ceiling import fit_ceiling


def _row(name: str, label: str, gain: float, decoder_ssim: float) -> dict:
    return {
        "name": name,
        "label": label,
        "architecture": "cnn",
        "decoder_ssim": decoder_ssim,
        "report": f"benchmarks/out/zoo/reports/{name}.json",
        "z": {"inversion_gain": gain},
    }


def test_separable_evidence_reaches_the_ceiling_and_overlap_does_not():
    honest = [_row(f"h{i}", "honest", g, 0.3) for i, g in enumerate((-1.0, -0.5, 0.0, 0.5))]
    leaking = [_row(f"v{i}", "vicious", g, 0.5) for i, g in enumerate((4.0, 5.0, 6.0, 7.0))]
    separable = fit_ceiling(honest + leaking, ("inversion_gain",))
    assert separable["auc_leaking"] == 1.0 and separable["honest_flagged"] == 0
    assert separable["coef"][0] > 0

    overlapping = [_row("h9", "honest", 6.5, 0.3), _row("v9", "vicious", -0.8, 0.5)]
    ceiling = fit_ceiling(honest + leaking + overlapping, ("inversion_gain",))
    assert ceiling["auc_leaking"] < 1.0 and ceiling["honest_flagged"] >= 1
    assert ceiling["log_loss"] > separable["log_loss"] == pytest.approx(separable["log_loss_leaking"])
