"""head_cost's table: per-stage estimates of both methods side by side, and their ratio."""

from __future__ import annotations

import benchmarks.head_cost as head_cost
from modelscan_vicious.results import CostInfo


def _cost(references: float, attack: float, epoch: float, head_epoch: float | None = None) -> CostInfo:
    steps = {"reference_epoch_128_inputs": 2.0, **({"head_epoch_128_inputs": head_epoch} if head_epoch else {})}
    return CostInfo(
        estimated_seconds={"references": references, "attack": attack},
        step_seconds=steps,
        parameters=1,
        flops_per_input=None,
        timeout_s=1e6,
        reductions=[],
        budget={},
        reference_method="head" if head_epoch else "scratch",
    )


def test_the_table_pairs_each_stage_and_the_epochs_of_both_methods(tmp_path, monkeypatch):
    written = {}
    monkeypatch.setattr(head_cost, "inputs", lambda out: (out / "m.onnx", out / "l.csv", out / "a.npz"))
    costs = {"scratch": _cost(300.0, 100.0, 2.0), "head": _cost(60.0, 100.0, 2.0, head_epoch=0.5)}
    monkeypatch.setattr(head_cost, "estimate", lambda model, labels, aux, method: costs[method])
    monkeypatch.setattr(head_cost, "update_section", lambda name, body: written.update({name: body}))
    assert head_cost.main(["--out", str(tmp_path)]) == 0
    lines = written["head-cost"].splitlines()
    assert "| references | 300 | 60 | 0.200 |" in lines
    assert "| attack | 100 | 100 | 1.000 |" in lines
    assert "| total | 400 | 160 | 0.400 |" in lines
    assert "| one epoch, 128 inputs | 2.000 | 0.500 | 0.250 |" in lines
