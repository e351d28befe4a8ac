"""What a scan will cost, measured before the heavy stages, and the reduced budget that fits --timeout.

The estimate times the scan's own building blocks on this machine and model (one training epoch of a
reference copy and of the surrogate decoder on 128 inputs, a batch of queries to the suspect) and
multiplies them by the work the budget asks for. Timing beats a FLOP count here: the same FLOPs cost
very different times through onnxruntime, TorchScript and fx graphs, and on a busy machine.

With `--references auto`, references trained from scratch are used when they fit, or need at most halving;
otherwise the head method (the suspect with its head re-trained, `training/head.py`), whose epoch is timed
too, and the report records the switch as a reduction. Where the calibration file has a fit for head-reference
scans, head references are a full method of their own: `auto` then takes them whenever from-scratch ones
would need any reduction or take over SCRATCH_PREFERRED_S, and records why in `reference_choice`.

When the estimate still does not fit the time left, every iterative quantity is scaled down by the same
factor (and the references drop to two below a quarter); the report records each reduction, and a reduced
scan is never reported as `passed`. When even the smallest scan cannot fit, the scan stops before the heavy
stages with a one-line error naming what would help.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from modelscan_vicious.config import Budget
from modelscan_vicious.detectors.references import REFERENCE_RECIPES
from modelscan_vicious.errors import ResourceLimitError
from modelscan_vicious.scanning import stages

SAMPLE = 128  # inputs in each timed epoch
BATCH = 64  # the batch size of reference training, fine-tuning and the decoder
SAFETY = 0.8  # share of the time left the estimate may fill: timings vary with machine load
MIN_SCALE = 0.05  # below this the checks would be too weak to mean anything: stop instead
# Without a head fit in the calibration file, `auto` keeps the calibrated from-scratch references, reduced,
# while they need at most this much scaling down; below it, head references (uncalibrated but cheap) at
# full budget are the stronger check.
MIN_SCRATCH_SCALE = 0.5
# With a head fit, both methods give a calibrated P(vicious), and a reduced scan can never pass: `auto`
# then takes head references whenever from-scratch ones would not fit at full budget, or would make the
# scan longer than this (issue 14's goal for a CIFAR ResNet-18 on 2 cores: 10 minutes).
SCRATCH_PREFERRED_S = 600.0


@dataclass(frozen=True)
class StepTimes:
    """Seconds measured on this machine for this model."""

    reference_epoch: float  # one epoch of a reference copy over SAMPLE inputs
    head_epoch: float | None  # one epoch re-training only the head; None: no output layer found
    decoder_epoch: float  # one epoch of the surrogate decoder over SAMPLE inputs
    query: float  # one suspect query (seconds per input)
    parameters: int  # of the trainable copy (or the black-box stand-in)
    flops_per_input: float | None  # forward FLOPs of the trainable copy, when countable


@dataclass(frozen=True)
class Workload:
    """How many inputs each stage works through, from the data the scan prepared."""

    reference_inputs: int  # labelled + attacker inputs the references train on
    attack_inputs: int  # attacker inputs the decoder trains on
    query_inputs: int  # inputs the attack queries per attacked model
    white_box: bool
    releases_twice: bool  # a release other than logits: the reference attack runs twice per model
    mitigate: bool


@dataclass(frozen=True)
class Fit:
    """What the scan will run: the budget, the reference method, their estimate and the reductions made."""

    budget: Budget
    reference_method: str  # "scratch" | "head"
    estimate: dict[str, float]
    reductions: list[str]
    reference_choice: str = ""  # why `auto` took head references over calibrated from-scratch ones; "" otherwise


def stage_seconds(budget: Budget, times: StepTimes, work: Workload, method: str = "scratch") -> dict[str, float]:
    """Estimated seconds per stage (pure arithmetic, so it can be tested and explained)."""
    recipes = [REFERENCE_RECIPES[i % len(REFERENCE_RECIPES)] for i in range(budget.n_references)]
    reference_epochs = sum(max(1, round(r.epoch_fraction * budget.reference_epochs)) for r in recipes)
    epoch = times.head_epoch if method == "head" and times.head_epoch is not None else times.reference_epoch
    per_reference_epoch = epoch * work.reference_inputs / SAMPLE
    attack_run = (
        budget.attack_epochs * times.decoder_epoch * work.attack_inputs / SAMPLE + times.query * work.query_inputs
    )
    attacked_models = (1 + budget.n_references) * (2 if work.releases_twice else 1)
    step = times.reference_epoch * BATCH / SAMPLE
    seconds = {
        stages.REFERENCES: reference_epochs * per_reference_epoch,
        stages.BLACK_BOX_ATTACKS: attacked_models * attack_run,
        stages.DETECTORS: (1 + budget.n_references) * budget.finetune_steps * step,
        stages.WHITE_BOX_ATTACKS: budget.rmle_steps * step * budget.rmle_samples / BATCH if work.white_box else 0.0,
        stages.MITIGATIONS: 8 * attack_run if work.mitigate else 0.0,
    }
    return {name: round(value, 2) for name, value in seconds.items()}


def reduced_budget(budget: Budget, scale: float) -> tuple[Budget, list[str]]:
    """`budget` with its iterative work scaled by `scale` (< 1), and the report's list of what changed."""
    changes: dict[str, Any] = {
        "reference_epochs": max(1, math.floor(budget.reference_epochs * scale)),
        "attack_epochs": max(2, math.floor(budget.attack_epochs * scale)),
        "finetune_steps": max(5, math.floor(budget.finetune_steps * scale)),
        "rmle_steps": max(10, math.floor(budget.rmle_steps * scale)),
    }
    if scale < 0.25:
        changes["n_references"] = min(budget.n_references, 2)
    reduced = replace(budget, **changes)
    notes = [
        f"{name.replace('_', ' ')} {getattr(budget, name)} -> {value}"
        for name, value in changes.items()
        if value != getattr(budget, name)
    ]
    return reduced, notes


def fit_to_time(
    budget: Budget,
    times: StepTimes,
    work: Workload,
    seconds_left: float,
    timeout_s: float,
    method: str = "scratch",
    head_calibrated: bool = False,
) -> Fit:
    """The budget and reference method to run, their estimate, and the reductions made so they fit
    `seconds_left`. `method` "auto" tries from-scratch references first, then the head method;
    `head_calibrated`: the calibration file has a fit for head-reference scans like this one."""
    allowed = SAFETY * seconds_left
    if method == "auto":
        candidates = ["scratch", "head"] if times.head_epoch is not None else ["scratch"]
    else:
        candidates = [method]
    if len(candidates) > 1 and head_calibrated:
        return _auto_with_head_fit(budget, times, work, seconds_left, timeout_s)
    for chosen in candidates:
        estimate = stage_seconds(budget, times, work, chosen)
        total = sum(estimate.values())
        if total <= allowed:
            return Fit(budget, chosen, estimate, _switch_note(candidates, chosen, budget, times, work))
        if chosen == "scratch" and allowed / total >= MIN_SCRATCH_SCALE:
            break  # mildly reduced from-scratch references rather than uncalibrated head ones
    scale = allowed / total
    if scale < MIN_SCALE:
        raise ResourceLimitError(
            f"the scan would take about {_minutes(total)} on this machine, {total / seconds_left:.0f}x the "
            f"{_minutes(seconds_left)} left of --timeout {timeout_s:.0f}; raise --timeout, use --device cuda, "
            "or give fewer auxiliary inputs"
        )
    reduced, notes = reduced_budget(budget, scale)
    switch = _switch_note(candidates, chosen, budget, times, work)
    return Fit(reduced, chosen, stage_seconds(reduced, times, work, chosen), switch + notes)


def _auto_with_head_fit(budget: Budget, times: StepTimes, work: Workload, seconds_left: float, timeout_s: float) -> Fit:
    """`auto` where both methods are calibrated. From-scratch references unless head ones are cheaper and
    from-scratch ones would need reducing (a reduced scan never passes) or take over SCRATCH_PREFERRED_S;
    a full from-scratch scan is kept over a reduced head one."""
    allowed = SAFETY * seconds_left
    scratch = sum(stage_seconds(budget, times, work, "scratch").values())
    head = sum(stage_seconds(budget, times, work, "head").values())
    scratch_fits, head_fits = scratch <= allowed, head <= allowed
    if head >= scratch or (scratch_fits and (scratch <= SCRATCH_PREFERRED_S or not head_fits)):
        return fit_to_time(budget, times, work, seconds_left, timeout_s, "scratch")
    why = (
        "would not fit --timeout" if not scratch_fits else f"above the {_minutes(SCRATCH_PREFERRED_S)} auto allows them"
    )
    choice = f"head references, calibrated: from-scratch ones est. {_minutes(scratch)}, {why}"
    return replace(fit_to_time(budget, times, work, seconds_left, timeout_s, "head"), reference_choice=choice)


def _switch_note(methods: list[str], chosen: str, budget: Budget, times: StepTimes, work: Workload) -> list[str]:
    """The reduction `auto` made by leaving from-scratch references, with the estimate that ruled them out."""
    if chosen == "scratch" or methods[0] != "scratch":
        return []
    scratch = sum(stage_seconds(budget, times, work, "scratch").values())
    return [f"references: the model's head re-trained instead of copies from scratch (est. {_minutes(scratch)})"]


def measure(loaded, config, reference_module) -> StepTimes:
    """Time one small epoch of each kind of training and a batch of queries, leaving every random state
    as it was (the scan's numbers must not depend on whether it was timed)."""
    import torch

    from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
    from modelscan_vicious.training.classifier import train_classifier

    images = _sample_images(loaded)
    labels = np.arange(len(images)) % loaded.model.n_outputs
    with torch.random.fork_rng(devices=[]):
        warm = (images[:BATCH], labels[:BATCH])
        train_classifier(reference_module, *warm, output_kind="logits", epochs=1, device=config.device)
        start = time.perf_counter()
        train_classifier(reference_module, images, labels, output_kind="logits", epochs=1, device=config.device)
        reference_epoch = time.perf_counter() - start
        head_epoch = None  # timed only where the head method may run
        if config.references in ("auto", "head") and loaded.trainable is not None:
            head_epoch = _head_epoch(reference_module, loaded.model.n_outputs, images, labels, config.device)
        attack = InverseNetworkAttack(epochs=1, device=config.device)
        features = np.random.default_rng(0).normal(size=(len(images), loaded.model.n_outputs)).astype(np.float32)
        attack._fit(features[:BATCH], images[:BATCH], None, seed=0)  # warm: first calls set up kernels (10x slower)
        start = time.perf_counter()
        attack._fit(features, images, None, seed=0)
        decoder_epoch = time.perf_counter() - start
    start = time.perf_counter()
    loaded.predict(images[:BATCH])
    query = (time.perf_counter() - start) / BATCH
    return StepTimes(
        reference_epoch=reference_epoch,
        head_epoch=head_epoch,
        decoder_epoch=decoder_epoch,
        query=query,
        parameters=sum(p.numel() for p in reference_module.parameters()),
        flops_per_input=_flops(reference_module, images[:1]),
    )


def _head_epoch(module, n_outputs: int, images: np.ndarray, labels: np.ndarray, device: str) -> float | None:
    """Seconds of one epoch re-training only `module`'s head (the head method), or None."""
    from modelscan_vicious.training.head import head_parameters, retrain_head

    head = head_parameters(module, n_outputs)
    if not head:
        return None
    start = time.perf_counter()
    retrain_head(module, head, images, labels, output_kind="logits", epochs=1, weight_decay=0.0, seed=0, device=device)
    return time.perf_counter() - start


def _sample_images(loaded) -> np.ndarray:
    pool = np.concatenate([loaded.labelled.images, loaded.prepared.attack.train])
    repeats = math.ceil(SAMPLE / len(pool))
    return np.tile(pool, (repeats, 1, 1, 1))[:SAMPLE].astype(np.float32)


def _flops(module, image: np.ndarray) -> float | None:
    """Forward FLOPs for one input, counted by PyTorch; None where the graph hides its operators."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            module.eval()(torch.from_numpy(image))
        return float(counter.get_total_flops()) or None
    except Exception:  # counting is best effort: an operator without a FLOP formula must not stop a scan
        return None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
