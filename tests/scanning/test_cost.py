"""The cost estimate and the reduced budget that fits --timeout: never a silent weaker pass."""

from __future__ import annotations

import pytest

from modelscan_vicious.config import BUDGETS
from modelscan_vicious.errors import ResourceLimitError
from modelscan_vicious.scanning import cost, stages
from modelscan_vicious.scanning.cost import StepTimes, Workload, fit_to_time, reduced_budget, stage_seconds

TIMES = StepTimes(
    reference_epoch=1.0, head_epoch=0.25, decoder_epoch=0.5, query=0.001, parameters=1000, flops_per_input=None
)
WORK = Workload(
    reference_inputs=256, attack_inputs=128, query_inputs=1000, white_box=True, releases_twice=False, mitigate=False
)


def test_stage_seconds_follow_the_budget():
    budget = BUDGETS["fast"]  # 3 references: recipes 1.0, 1.0 and 0.3 of 20 epochs
    seconds = stage_seconds(budget, TIMES, WORK)
    assert seconds[stages.REFERENCES] == (20 + 20 + 6) * 1.0 * 256 / 128
    assert seconds[stages.BLACK_BOX_ATTACKS] == pytest.approx(4 * (40 * 0.5 + 1.0))
    assert seconds[stages.DETECTORS] == 4 * 30 * 0.5
    assert seconds[stages.WHITE_BOX_ATTACKS] == 200 * 0.5 * 32 / 64
    assert seconds[stages.MITIGATIONS] == 0.0
    twice = stage_seconds(budget, TIMES, Workload(**{**WORK.__dict__, "releases_twice": True, "mitigate": True}))
    assert twice[stages.BLACK_BOX_ATTACKS] == pytest.approx(2 * seconds[stages.BLACK_BOX_ATTACKS])
    assert twice[stages.MITIGATIONS] == pytest.approx(8 * (40 * 0.5 + 1.0))


def test_a_budget_that_fits_is_left_alone():
    fit = fit_to_time(BUDGETS["fast"], TIMES, WORK, seconds_left=1e6, timeout_s=1e6, method="auto")
    assert fit.budget == BUDGETS["fast"] and fit.reductions == [] and sum(fit.estimate.values()) > 0
    assert fit.reference_method == "scratch"  # the calibrated method, whenever it fits


def test_a_budget_that_does_not_fit_is_scaled_and_says_so():
    full = sum(stage_seconds(BUDGETS["fast"], TIMES, WORK).values())
    fit = fit_to_time(BUDGETS["fast"], TIMES, WORK, seconds_left=full / 2, timeout_s=100)
    budget = fit.budget
    assert budget.reference_epochs < 20 and budget.attack_epochs < 40 and budget.n_references == 3
    assert sum(fit.estimate.values()) <= cost.SAFETY * full / 2 * 1.1
    assert "reference epochs 20 -> 8" in fit.reductions and fit.reference_method == "scratch"
    few, _ = reduced_budget(BUDGETS["fast"], 0.1)
    assert few.n_references == 2  # below a quarter, two references


def test_auto_switches_to_head_references_when_only_they_fit_and_says_so():
    # Many reference inputs: reference training dominates, and head epochs cost a quarter of full ones.
    work = Workload(**{**WORK.__dict__, "reference_inputs": 100 * WORK.reference_inputs})
    scratch = sum(stage_seconds(BUDGETS["fast"], TIMES, work, "scratch").values())
    head = sum(stage_seconds(BUDGETS["fast"], TIMES, work, "head").values())
    assert stage_seconds(BUDGETS["fast"], TIMES, work, "head")[stages.REFERENCES] == (20 + 20 + 6) * 0.25 * 25600 / 128
    assert head < cost.MIN_SCRATCH_SCALE * scratch
    left = head / cost.SAFETY  # head references fit exactly; scratch ones would need scaling below a half
    fit = fit_to_time(BUDGETS["fast"], TIMES, work, seconds_left=left, timeout_s=100, method="auto")
    assert fit.reference_method == "head" and fit.budget == BUDGETS["fast"]
    assert len(fit.reductions) == 1 and "instead of copies from scratch" in fit.reductions[0]
    # Asked for scratch, the same time gives a reduced from-scratch scan instead.
    assert fit_to_time(BUDGETS["fast"], TIMES, work, seconds_left=left, timeout_s=100).reference_method == "scratch"
    # Scratch references that need less than halving stay, reduced: the calibrated method wins.
    mild = fit_to_time(
        BUDGETS["fast"], TIMES, work, seconds_left=0.7 * scratch / cost.SAFETY, timeout_s=100, method="auto"
    )
    assert mild.reference_method == "scratch" and mild.budget.reference_epochs < 20
    assert not any("instead of copies from scratch" in r for r in mild.reductions)
    # Too little even for head references: head, reduced, with both changes recorded.
    tight = fit_to_time(BUDGETS["fast"], TIMES, work, seconds_left=head / 2, timeout_s=100, method="auto")
    assert tight.reference_method == "head" and tight.budget.reference_epochs < 20 and len(tight.reductions) > 1
    # No output layer found (head_epoch None): auto stays with scratch.
    no_head = StepTimes(**{**TIMES.__dict__, "head_epoch": None})
    assert fit_to_time(BUDGETS["fast"], no_head, work, left, 100, method="auto").reference_method == "scratch"


def test_with_a_head_fit_auto_prefers_head_references_to_slow_or_reduced_scratch_ones():
    # A large model: from-scratch reference training takes most of the scan, the head's a sliver.
    times = StepTimes(**{**TIMES.__dict__, "head_epoch": 0.01})
    work = Workload(**{**WORK.__dict__, "reference_inputs": 20 * WORK.reference_inputs})
    scratch = sum(stage_seconds(BUDGETS["fast"], times, work, "scratch").values())
    head = sum(stage_seconds(BUDGETS["fast"], times, work, "head").values())
    assert scratch > cost.SCRATCH_PREFERRED_S > head
    # Scratch fits --timeout but takes longer than auto allows: head at full budget, no reduction.
    plenty = fit_to_time(BUDGETS["fast"], times, work, 10 * scratch, 1e6, method="auto", head_calibrated=True)
    assert plenty.reference_method == "head" and plenty.budget == BUDGETS["fast"] and plenty.reductions == []
    assert "above the 10.0 min auto allows" in plenty.reference_choice
    # Without a head fit the same time keeps the calibrated from-scratch references.
    uncalibrated = fit_to_time(BUDGETS["fast"], times, work, 10 * scratch, 1e6, method="auto")
    assert uncalibrated.reference_method == "scratch" and uncalibrated.reference_choice == ""
    # Scratch would need a mild reduction (which never passes): head at full budget instead.
    mild = fit_to_time(BUDGETS["fast"], times, work, 0.7 * scratch / cost.SAFETY, 1e6, "auto", head_calibrated=True)
    assert (
        mild.reference_method == "head" and mild.reductions == [] and "would not fit --timeout" in mild.reference_choice
    )
    # A quick scratch scan stays scratch; an explicit --references scratch is never switched.
    quick = fit_to_time(BUDGETS["fast"], TIMES, WORK, 1e6, 1e6, method="auto", head_calibrated=True)
    assert quick.reference_method == "scratch" and sum(quick.estimate.values()) <= cost.SCRATCH_PREFERRED_S
    asked = fit_to_time(BUDGETS["fast"], times, work, 10 * scratch, 1e6, method="scratch", head_calibrated=True)
    assert asked.reference_method == "scratch"
    # Too little time even for head references: head, reduced, and the reductions say so.
    tight = fit_to_time(BUDGETS["fast"], times, work, head / 2, 1e6, method="auto", head_calibrated=True)
    assert tight.reference_method == "head" and tight.reductions and tight.budget.reference_epochs < 20


def test_with_a_head_fit_auto_never_trades_a_full_scan_for_a_reduced_or_slower_one():
    # Head epochs timed slower than full ones (a cold first epoch): from-scratch stays, at full budget.
    slow_head = StepTimes(**{**TIMES.__dict__, "head_epoch": 1.3})
    work = Workload(**{**WORK.__dict__, "reference_inputs": 20 * WORK.reference_inputs})
    scratch = sum(stage_seconds(BUDGETS["fast"], slow_head, work, "scratch").values())
    assert scratch > cost.SCRATCH_PREFERRED_S
    fit = fit_to_time(BUDGETS["fast"], slow_head, work, 10 * scratch, 1e6, method="auto", head_calibrated=True)
    assert fit.reference_method == "scratch" and fit.reductions == [] and fit.reference_choice == ""
    # Cheaper head references that would need reducing while from-scratch ones fit in full: from-scratch.
    times = StepTimes(**{**TIMES.__dict__, "head_epoch": 0.01})
    scratch = sum(stage_seconds(BUDGETS["fast"], times, work, "scratch").values())
    head = sum(stage_seconds(BUDGETS["fast"], times, work, "head").values())
    left = scratch / cost.SAFETY
    with_budget = fit_to_time(BUDGETS["fast"], times, work, left, 1e6, method="auto", head_calibrated=True)
    assert head < scratch and with_budget.reference_method == "head"  # head fits too: the quicker full scan
    assert with_budget.reductions == []


def test_a_scan_that_cannot_fit_stops_with_what_would_help():
    with pytest.raises(ResourceLimitError, match="raise --timeout, use --device cuda"):
        fit_to_time(BUDGETS["fast"], TIMES, WORK, seconds_left=1.0, timeout_s=5)


def test_estimate_messages_round_trip_and_stage_names_are_not_estimates():
    message = stages.estimate_message({"references": 1.5, "attack": 2.0})
    assert stages.read_estimate(message) == {"references": 1.5, "attack": 2.0}
    assert stages.read_estimate("references") is None
    assert stages.read_estimate("estimate {not json") is None
