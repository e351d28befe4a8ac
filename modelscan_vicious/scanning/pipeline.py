"""Scanning one model: load -> references -> attacks -> detectors -> white-box attacks -> verdict.

Each stage is a plain call taking and returning the typed values of `scanning/stages.py`. Attacks and
detectors are the plug-ins registered in `scanning/plugins.py`: the pipeline loops over them, and a plug-in
that fails or does not apply is recorded and the scan goes on, but the verdict is never "passed"
unless every check produced a result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.attacks.base import Attack, AttackOutcome, FeatureOracle, WhiteBoxAccess
from modelscan_vicious.config import Budget, ScanConfig, parse_release
from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.data.labelled_csv import load_labelled_csv, read_csv_layout
from modelscan_vicious.detectors.base import DetectorContext, ModelUnderTest
from modelscan_vicious.detectors.calibration import CALIBRATION_LABELLED_ROWS, LABELLED_ONLY
from modelscan_vicious.errors import ModelNotTrainableError, ScanError, first_line
from modelscan_vicious.loading import load_model
from modelscan_vicious.loading.base import needs_flat_head, with_flat_head
from modelscan_vicious.release import attack_features, released_outputs
from modelscan_vicious.results import (
    CostInfo,
    MitigationResult,
    PluginOutcome,
    ReconstructionResult,
    ScanResult,
    ViciousnessResult,
)
from modelscan_vicious.scanning import stages
from modelscan_vicious.scanning.attack_data import NOISE_AUX, prepare_attack_data
from modelscan_vicious.scanning.environment import environment
from modelscan_vicious.scanning.plugins import ATTACKS, DETECTORS
from modelscan_vicious.scanning.reference_outcomes import cached_attack_run, reference_outcomes
from modelscan_vicious.scanning.references import match_confidence, reference_copier, train_references
from modelscan_vicious.scanning.stages import AttackResults, LoadedInputs, ReferenceAttack, ReferenceSet, StageCallback
from modelscan_vicious.scanning.verdict import decide, error_verdict, risk_gate_for
from modelscan_vicious.training.classifier import module_predictor

N_EXAMPLES = 8
# What a failing plug-in may raise: our own errors, and the numerical failures of training and algebra.
PLUGIN_FAILURES = (ScanError, ValueError, RuntimeError, np.linalg.LinAlgError)


def scan_model(path: Path, config: ScanConfig, on_stage: StageCallback = lambda _: None) -> ScanResult:
    """Scan one model.

    Bad input (model file, data) raises its ScanError: there is nothing to report on. Failures
    after loading become an error verdict in the result, which still gets its report.
    """
    import torch

    if config.device == "cuda":
        deterministic_cuda()
    # TorchScript's profiling executor re-profiles graphs in every one of the scan's short training
    # runs, which slows the training of TorchScript copies; plain execution gives bit-identical weights.
    with torch.jit.optimized_execution(False):
        return _scan_model(path, config, on_stage)


def deterministic_cuda() -> None:
    """Same seed, same numbers on a GPU too (measured: two H100 scans differed in the 8th digit without it).

    cuBLAS needs a fixed workspace, set before its first call in this process; cuDNN and scatter-style
    kernels need their deterministic variants. Ops with none only warn: a scan must not fail over it.
    The switches are process-wide and stay on, so later GPU work in the same process (several scans,
    a benchmark calling the CLI in-process) is deterministic too.
    """
    import os

    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def _scan_model(path: Path, asked: ScanConfig, on_stage: StageCallback) -> ScanResult:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    plugins: list[PluginOutcome] = []
    with _timed(timings, stages.LOAD, on_stage):
        loaded = _load(path, asked)
    if loaded.why_black_box:
        plugins.append(PluginOutcome("trainable-copy", "detector", "skipped", loaded.why_black_box))
    mitigations: list[MitigationResult] = []
    cost: CostInfo | None = None
    try:
        with _timed(timings, stages.ESTIMATE, on_stage):
            cost = _estimate(loaded, asked, started)
        on_stage(stages.estimate_message(cost.estimated_seconds))
        # The asked budget, or the reduced one; and the reference method that fits.
        config = replace(asked, budget=Budget(**cost.budget), references=cost.reference_method)
        with _timed(timings, stages.REFERENCES, on_stage):
            references = match_confidence(train_references(loaded, config), loaded, config)
        with _timed(timings, stages.BLACK_BOX_ATTACKS, on_stage):
            attacks = _black_box_attacks(loaded, references, config, plugins)
        with _timed(timings, stages.DETECTORS, on_stage):
            viciousness = _detect(loaded, references, attacks, config, plugins)
        if viciousness is not None:
            viciousness.notes.extend(references.notes)
            if asked.references == "head" and loaded.trainable is None:
                viciousness.notes.append(
                    "--references head needs a trainable copy of the model; the black-box stand-in references "
                    "were trained from scratch"
                )
        with _timed(timings, stages.WHITE_BOX_ATTACKS, on_stage):
            attacks = _white_box_attacks(loaded, attacks, config, plugins)
        reconstruction = _reconstruction_result(attacks, loaded, config)
        if config.mitigate and attacks.reference is not None:
            with _timed(timings, stages.MITIGATIONS, on_stage):
                mitigations = _mitigations(loaded, attacks.reference, config)
        verdict = decide(
            viciousness,
            reconstruction,
            plugins,
            fail_on_probability=config.fail_on_probability,
            fail_on_risk=config.fail_on_risk,
            limits=scan_limits(cost, reconstruction, viciousness, config, len(loaded.labelled.labels)),
        )
    except ScanError as err:
        viciousness, reconstruction, verdict, mitigations = None, None, error_verdict(str(err)), []
    return ScanResult(
        model=replace(loaded.model.info(), trainable=loaded.trainable is not None),  # what the scan could use
        model_path=str(path),
        viciousness=viciousness,
        reconstruction=reconstruction,
        verdict=verdict,
        settings=asked.settings_dict(),
        environment=environment(asked.device),
        timings=timings,
        plugins=plugins,
        mitigations=mitigations,
        tool_version=__version__,
        cost=cost,
    )


def scan_limits(
    cost: CostInfo,
    reconstruction: ReconstructionResult | None,
    viciousness: ViciousnessResult | None,
    config: ScanConfig,
    labelled_rows: int,
) -> list[str]:
    """Why this scan is weaker than the full method; the verdict never passes such a scan.

    A scan without --aux is the full method for that case only when all of these hold: P(vicious) came
    from the calibration fitted on such scans; R is judged by the relative gate (its references were
    attacked with the same labelled-only data, so it compares like with like, whereas an absolute gate
    would compare a lower bound with a fixed number); and the labelled set is as large as the one that
    calibration was fitted with (without --aux it is the attacker's only data)."""
    limits = []
    if cost.reductions:
        limits.append(f"reduced to fit --timeout ({'; '.join(cost.reductions)})")
    if cost.reference_method == "head" and (viciousness is None or viciousness.calibration_references != "head"):
        limits.append(
            "references re-trained only the model's head (its last two weight layers) on its own features, but "
            "P(vicious) was calibrated on references trained from scratch (no fit for head references here)"
        )
    if reconstruction is None or not reconstruction.lower_bound:
        return limits
    calibrated_without_aux = viciousness is not None and viciousness.calibration_data == LABELLED_ONLY
    if not calibrated_without_aux:
        limits.append(
            "no auxiliary inputs (--aux): the attack and the references learned from the labelled set alone, "
            "so R is a lower bound and P(vicious), calibrated on scans with auxiliary data, is less certain"
        )
    elif config.fail_on_risk is not None:
        limits.append(
            "no auxiliary inputs (--aux): R is a lower bound, so an absolute --fail-on-risk gate cannot clear it "
            "(the default relative gate compares it with references attacked the same way)"
        )
    elif labelled_rows < CALIBRATION_LABELLED_ROWS:
        limits.append(
            f"no auxiliary inputs (--aux) and {labelled_rows} labelled rows, fewer than the "
            f"{CALIBRATION_LABELLED_ROWS} the labelled-only calibration was fitted with: the attack had too "
            "little data for its evidence to clear the model"
        )
    return limits


def _estimate(loaded: LoadedInputs, config: ScanConfig, started: float) -> CostInfo:
    """Time this model's building blocks, estimate every stage, and reduce the budget to fit the time left of
    --timeout (counted from `started`, a `time.perf_counter()`, after the timing itself)."""
    from dataclasses import asdict

    from modelscan_vicious.attacks.rmle import RMLE_RELEASES
    from modelscan_vicious.detectors.calibration import HEAD, calibration_mode, has_calibration
    from modelscan_vicious.scanning.cost import Workload, fit_to_time, measure

    if loaded.trainable is not None:
        module = loaded.trainable()
    else:  # the black-box references' stand-in architecture
        from modelscan_vicious.training.architectures import build_classifier

        module = build_classifier("cnn", loaded.model.input_shape, loaded.model.n_outputs)
    try:
        times = measure(loaded, config, module)
    except PLUGIN_FAILURES as err:  # what breaks a timed epoch would break every reference's training
        raise ModelNotTrainableError(f"the model's trainable copy cannot be trained: {first_line(err)}") from err
    data = loaded.prepared.attack
    work = Workload(
        reference_inputs=len(loaded.labelled.images) + len(loaded.prepared.reference_images),
        attack_inputs=len(data.train),
        query_inputs=len(data.train) + len(data.eval),
        white_box=loaded.trainable is not None and parse_release(config.release)[0] in RMLE_RELEASES,
        releases_twice=config.release != "logits",
        mitigate=config.mitigate,
    )
    left = config.timeout_s - (time.perf_counter() - started)
    method = config.references if loaded.trainable is not None else "scratch"  # a black box has no head to re-train
    if method == "head" and times.head_epoch is None:
        raise ModelNotTrainableError(
            f"--references head: the model has no output layer with {loaded.model.n_outputs} outputs to re-train"
        )
    head_calibrated = method == "auto" and has_calibration(
        calibration_mode("white-box", labelled_only=not config.aux, references=HEAD)
    )
    fit = fit_to_time(config.budget, times, work, left, config.timeout_s, method, head_calibrated)
    steps = {"reference_epoch_128_inputs": round(times.reference_epoch, 4)}
    if times.head_epoch is not None:
        steps["head_epoch_128_inputs"] = round(times.head_epoch, 4)
    return CostInfo(
        estimated_seconds=fit.estimate,
        step_seconds={
            **steps,
            "decoder_epoch_128_inputs": round(times.decoder_epoch, 4),
            "query_per_input": round(times.query, 6),
        },
        parameters=times.parameters,
        flops_per_input=times.flops_per_input,
        timeout_s=config.timeout_s,
        reductions=fit.reductions,
        budget=asdict(fit.budget),
        reference_method=fit.reference_method,
        reference_choice=fit.reference_choice,
        head_calibrated=head_calibrated,
    )


@contextmanager
def _timed(timings: dict[str, float], stage: str, on_stage: StageCallback) -> Iterator[None]:
    on_stage(stage)
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - start, 3)


def _load(path: Path, config: ScanConfig) -> LoadedInputs:
    layout = read_csv_layout(config.labels)
    model = load_model(
        path,
        input_shape=config.input_shape,
        n_pixels=layout.n_pixels or None,
        data_shape=layout.image_shape,
        device=config.device,
    )
    labelled = load_labelled_csv(config.labels, model.input_shape, model.n_outputs, pixel_range=config.pixel_range)
    noise = config.aux is not None and str(config.aux) == NOISE_AUX and not config.aux.exists()
    aux = load_auxiliary(config.aux, model.input_shape) if config.aux and not noise else None
    prepared = prepare_attack_data(
        labelled.images, aux, config.aux.name if config.aux else None, max_aux=config.budget.max_aux, seed=config.seed
    )
    try:
        flat = needs_flat_head(model.trainable_copy(), model.input_shape)  # fails early, once, if no copy
        trainable = lambda: _image_space(  # noqa: E731
            with_flat_head(model.trainable_copy()) if flat else model.trainable_copy(), model.input_shape[0], config
        )
        why = ""
    except ModelNotTrainableError as err:
        trainable, why = None, f"black-box evidence only: {err}"
    predict = lambda images: model.predict(config.scaling.apply(images))  # noqa: E731
    return LoadedInputs(model, labelled, prepared, predict, trainable, why)


def _image_space(module, channels: int, config: ScanConfig):
    """Put the user's input scaling in front of a trainable copy, so it takes [0, 1] images."""
    import torch

    if config.scaling.is_identity:
        return module
    return torch.nn.Sequential(config.scaling.as_module(channels), module)


def _oracle(predict, output_kind: str, release: str) -> FeatureOracle:
    kind, k = parse_release(release)
    return lambda images: attack_features(released_outputs(predict(images), output_kind, kind, k), output_kind, kind)


def _applicable(attack: Attack, loaded: LoadedInputs, config: ScanConfig, plugins: list[PluginOutcome]) -> bool:
    """Record why `attack` cannot run on this model and release, if it cannot."""
    release_kind, _ = parse_release(config.release)
    if attack.needs.trainable and loaded.trainable is None:
        plugins.append(PluginOutcome(attack.name, "attack", "skipped", "white-box attack needs a trainable copy"))
        return False
    if release_kind not in attack.needs.releases:
        reason = attack.why_not_applicable(config.release)
        plugins.append(PluginOutcome(attack.name, "attack", "not-applicable", reason))
        return False
    return True


def _registered_attacks(config: ScanConfig, *, white_box: bool) -> list[Attack]:
    attacks = [ATTACKS.create(name, budget=config.budget, device=config.device) for name in ATTACKS.names()]
    return [attack for attack in attacks if attack.needs.trainable == white_box]


def _black_box_attacks(
    loaded: LoadedInputs, references: ReferenceSet, config: ScanConfig, plugins: list[PluginOutcome]
) -> AttackResults:
    """Every registered attack that needs only the outputs. The first that also attacks the references is
    the reference attack; the others attack the suspect's released outputs alone."""
    reference: ReferenceAttack | None = None
    others: list[tuple[str, AttackOutcome]] = []
    reference_attack_tried = False
    for attack in _registered_attacks(config, white_box=False):
        if not _applicable(attack, loaded, config, plugins):
            continue
        as_reference = attack.needs.references and not reference_attack_tried
        reference_attack_tried = reference_attack_tried or as_reference
        try:
            if as_reference:
                reference = _reference_attack(attack, loaded, references, config)
            else:
                released = _oracle(loaded.predict, loaded.model.output_kind, config.release)
                others.append((attack.name, attack.run(released, loaded.prepared.attack, seed=config.seed)))
        except PLUGIN_FAILURES as err:
            plugins.append(PluginOutcome(attack.name, "attack", "failed", first_line(err)))
            continue
        plugins.append(PluginOutcome(attack.name, "attack", "ok"))
    return AttackResults(reference, others)


def _reference_attack(
    attack: Attack, loaded: LoadedInputs, references: ReferenceSet, config: ScanConfig
) -> ReferenceAttack:
    """The attack on the suspect, as released and on full outputs, and on every honest reference alike."""

    def run(predict, kind, release):  # cached by the outputs it inverts (reference_outcomes.py)
        oracle, data = _oracle(predict, kind, release), loaded.prepared.attack
        return cached_attack_run(attack, oracle, data, seed=config.seed, device=config.device)

    full = run(loaded.predict, loaded.model.output_kind, "logits")
    released = full if config.release == "logits" else run(loaded.predict, loaded.model.output_kind, config.release)
    ref_full, ref_released = reference_outcomes(attack, loaded, references, config, run)
    return ReferenceAttack(attack.name, full, released, ref_full, ref_released)


def _detect(
    loaded: LoadedInputs,
    references: ReferenceSet,
    attacks: AttackResults,
    config: ScanConfig,
    plugins: list[PluginOutcome],
) -> ViciousnessResult | None:
    """Every registered detector the scan can serve; the first result is the report's P(vicious)."""
    viciousness = None
    for name in DETECTORS.names():
        detector = DETECTORS.create(name)
        if detector.needs.reference_attack and attacks.reference is None:
            plugins.append(PluginOutcome(name, "detector", "skipped", "the surrogate attack it relies on failed"))
            continue
        if detector.needs.trainable and loaded.trainable is None:
            plugins.append(PluginOutcome(name, "detector", "skipped", "it needs a trainable copy of the model"))
            continue
        try:
            result = detector.run(_detector_context(loaded, references, attacks, config))
        except PLUGIN_FAILURES as err:
            plugins.append(PluginOutcome(name, "detector", "failed", first_line(err)))
            continue
        plugins.append(PluginOutcome(name, "detector", "ok"))
        viciousness = viciousness or result
    return viciousness


def _detector_context(
    loaded: LoadedInputs, references: ReferenceSet, attacks: AttackResults, config: ScanConfig
) -> DetectorContext:
    reference = attacks.reference
    assert reference is not None  # detectors that need the reference attack are skipped without it
    suspect = ModelUnderTest(loaded.predict, loaded.model.output_kind, reference.suspect_full, loaded.trainable)
    refs = [
        ModelUnderTest(
            module_predictor(r.module, config.device),
            r.output_kind,
            outcome,
            reference_copier(r.module, loaded.trainable),
        )
        for r, outcome in zip(references.references, reference.references_full)
    ]
    return DetectorContext(
        suspect=suspect,
        references=refs,
        labelled_images=loaded.labelled.images,
        labelled_labels=loaded.labelled.labels,
        probe_images=loaded.prepared.probe_images,
        finetune_steps=config.budget.finetune_steps,
        n_bootstrap=config.budget.n_bootstrap,
        seed=config.seed,
        device=config.device,
        white_box=loaded.trainable is not None,
        labelled_only=not config.aux,  # `--aux noise` is not the labelled set: it keeps the auxiliary fit
        references_method=config.references,  # after the cost estimate: the method the scan really used
    )


def _white_box_attacks(
    loaded: LoadedInputs, attacks: AttackResults, config: ScanConfig, plugins: list[PluginOutcome]
) -> AttackResults:
    """Every registered attack that needs the model itself, on the suspect's released outputs."""
    others = list(attacks.others)
    release_kind, _ = parse_release(config.release)
    for attack in _registered_attacks(config, white_box=True):
        if not _applicable(attack, loaded, config, plugins):
            continue
        assert loaded.trainable is not None  # _applicable skips white-box attacks without a copy
        access = WhiteBoxAccess(loaded.trainable, loaded.predict, loaded.model.output_kind, release_kind)
        released = _oracle(loaded.predict, loaded.model.output_kind, config.release)
        try:
            others.append((attack.name, attack.run(released, loaded.prepared.attack, seed=config.seed, model=access)))
        except PLUGIN_FAILURES as err:
            plugins.append(PluginOutcome(attack.name, "attack", "failed", first_line(err)))
            continue
        plugins.append(PluginOutcome(attack.name, "attack", "ok"))
    return AttackResults(attacks.reference, others)


def _mitigations(loaded: LoadedInputs, reference: ReferenceAttack, config: ScanConfig) -> list[MitigationResult]:
    from modelscan_vicious.scanning.mitigations import evaluate_mitigations

    attack = ATTACKS.create(reference.name, budget=config.budget, device=config.device)
    honest_R = float(np.median([o.R for o in reference.references_full])) if reference.references_full else 1.0
    return evaluate_mitigations(
        loaded.predict,
        loaded.model.output_kind,
        attack,
        loaded.prepared.attack,
        (loaded.labelled.images, loaded.labelled.labels),
        honest_R,
        seed=config.seed,
    )


def _reconstruction_result(
    attacks: AttackResults, loaded: LoadedInputs, config: ScanConfig
) -> ReconstructionResult | None:
    """The strongest attack's numbers, next to the reference attack's on the honest references."""
    from modelscan_vicious.scanning.attack_choice import scored, strongest

    reference = attacks.reference
    if reference is None:
        return None
    data = loaded.prepared.attack
    suspect = scored(reference.name, reference.suspect_released, data.eval)
    others = [scored(name, outcome, data.eval) for name, outcome in attacks.others]
    best, summaries = strongest(suspect, others, data.covariance)
    reference_R = [o.R for o in reference.references_released]
    risk_gate, risk_gate_basis = risk_gate_for(reference_R, config.fail_on_risk)
    return ReconstructionResult(
        R=best.R,
        psnr=best.psnr,
        ssim=best.ssim,
        n_eval=len(best.originals),
        covariance_estimator=data.covariance.estimator,
        n_covariance_samples=data.covariance.n_samples,
        attacker_data=data.description,
        lower_bound=data.lower_bound,
        release=config.release,
        attack=best.name,
        per_sample_risk=[float(r) for r in best.per_sample_risk],
        reference_R=reference_R,
        reference_ssim=[o.ssim for o in reference.references_released],
        attacks=summaries,
        risk_gate=risk_gate if math.isfinite(risk_gate) else None,
        risk_gate_basis=risk_gate_basis,
        example_originals=best.originals[:N_EXAMPLES],
        example_reconstructions=best.reconstructions[:N_EXAMPLES],
    )
