"""A scan whose estimate does not fit --timeout runs reduced, says so, and never passes."""

from __future__ import annotations

import json

import pytest

from modelscan_vicious.scanning import cost
from modelscan_vicious.scanning.cost import StepTimes

from scan_helpers import HIGH_RISK_GATE, TINY_BUDGET, report, scan


@pytest.mark.parametrize(("reference_epoch", "status"), [(5.0, "error"), (1e6, "error")])
def test_a_reduced_scan_is_reported_and_never_passes(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan, monkeypatch, reference_epoch, status
):
    slow = StepTimes(reference_epoch=reference_epoch, decoder_epoch=0.0, query=0.0, parameters=1, flops_per_input=1.0)
    monkeypatch.setattr(cost, "measure", lambda *args: slow)
    model = tiny_models.honest_torchscript.path
    flags = ["--no-containment", "--fail-on-risk", HIGH_RISK_GATE, "--timeout", "60", "--format", "json"]
    scan([model], tmp_path, *flags, labels=labels_csv, aux=aux_npz)
    document = report(tmp_path, model.stem)
    assert document["verdict"]["status"] == status
    if reference_epoch < 1e6:
        assert document["cost"]["reductions"] and document["cost"]["budget"]["reference_epochs"] < (
            TINY_BUDGET.reference_epochs
        )
        assert "reduced to fit --timeout" in document["verdict"]["reasons"][0]
        assert document["settings"]["budget"]["reference_epochs"] == TINY_BUDGET.reference_epochs  # as asked
    else:
        assert "raise --timeout" in document["verdict"]["reasons"][0]
    json.dumps(document)
