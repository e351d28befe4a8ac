"""Scanning one model: load model -> load data -> references -> attacks -> detector -> verdict.

Each stage is a plain call; a failing attack or detector is recorded and the scan goes on, but the
verdict is never "passed" unless every check produced a result.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.attacks.base import FeatureOracle, create_attack
from modelscan_vicious.config import ScanConfig, parse_release
from modelscan_vicious.data.auxiliary import load_auxiliary
from modelscan_vicious.data.labelled_csv import load_labelled_csv, read_csv_layout
from modelscan_vicious.detectors.base import DetectorContext, ModelUnderTest, create_detector
from modelscan_vicious.detectors.calibration import CALIBRATION_LABELLED_ROWS
from modelscan_vicious.detectors.confidence import Tempered, floored_log_confidence, matching_temperature
from modelscan_vicious.detectors.references import reference_recipes
from modelscan_vicious.errors import ModelNotTrainableError, ScanError, first_line
from modelscan_vicious.loading import load_model
from modelscan_vicious.loading.batch_norm import use_batch_statistics
from modelscan_vicious.loading.folded_batch_norm import fold_batch_norm, has_folded_batch_norm, insert_batch_norm
from modelscan_vicious.release import attack_features, released_outputs
from modelscan_vicious.scan.attack_data import NOISE_AUX, prepare_attack_data
from modelscan_vicious.scan.environment import environment
from modelscan_vicious.scan.result import PluginOutcome, ReconstructionResult, ScanResult
from modelscan_vicious.scan.verdict import decide, error_verdict
from modelscan_vicious.training.classifier import module_predictor, reinitialise, train_classifier

ATTACK_NAME = "inverse-network"
DETECTOR_NAME = "finetune-distance"
N_EXAMPLES = 8
Stage = Callable[[str], None]


def scan_model(path: Path, config: ScanConfig, on_stage: Stage = lambda _: None) -> ScanResult:
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


def _scan_model(path: Path, config: ScanConfig, on_stage: Stage) -> ScanResult:
    import modelscan_vicious.attacks.inverse_network  # noqa: F401  (registers the attack)
    import modelscan_vicious.detectors.finetune_distance  # noqa: F401  (registers the detector)

    timings: dict[str, float] = {}
    plugins: list[PluginOutcome] = []
    with _timed(timings, "load", on_stage):
        model, labelled, prepared, trainable_factory, why_black_box = _load(path, config)
    if why_black_box:
        plugins.append(PluginOutcome("trainable-copy", "detector", "skipped", why_black_box))
    try:
        suspect_predict = _suspect_predictor(model, config)
        with _timed(timings, "references", on_stage):
            references, reference_notes = _train_references(model, labelled, prepared, trainable_factory, config)
            references, confidence_notes = _match_confidence(
                references, suspect_predict, model.output_kind, prepared, config
            )
        reference_notes += confidence_notes
        with _timed(timings, "attack", on_stage):
            outcomes = _attack_all(suspect_predict, model.output_kind, references, prepared, config, plugins)
        with _timed(timings, "detector", on_stage):
            viciousness = _detect(
                suspect_predict, model, trainable_factory, references, outcomes, labelled, prepared, config, plugins
            )
        if viciousness is not None:
            viciousness.notes.extend(reference_notes)
        with _timed(timings, "white-box attack", on_stage):
            rmle = _rmle(trainable_factory, suspect_predict, model.output_kind, prepared, config, plugins)
        reconstruction = _reconstruction_result(outcomes, rmle, prepared, config) if outcomes else None
        mitigations = []
        if config.mitigate and outcomes:
            with _timed(timings, "mitigations", on_stage):
                mitigations = _mitigations(suspect_predict, model.output_kind, labelled, prepared, outcomes, config)
        verdict = decide(
            viciousness,
            reconstruction,
            plugins,
            fail_on_probability=config.fail_on_probability,
            fail_on_risk=config.fail_on_risk,
        )
    except ScanError as err:
        viciousness, reconstruction, verdict, mitigations = None, None, error_verdict(str(err)), []
    return ScanResult(
        model=replace(model.info(), trainable=trainable_factory is not None),  # what the scan could use
        model_path=str(path),
        viciousness=viciousness,
        reconstruction=reconstruction,
        verdict=verdict,
        settings=config.settings_dict(),
        environment=environment(config.device),
        timings=timings,
        plugins=plugins,
        mitigations=mitigations,
        tool_version=__version__,
    )


@contextmanager
def _timed(timings: dict[str, float], stage: str, on_stage: Stage):
    on_stage(stage)
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - start, 3)


def _load(path: Path, config: ScanConfig):
    layout = read_csv_layout(config.labels)
    model = load_model(path, input_shape=config.input_shape, n_pixels=layout.n_pixels or None, device=config.device)
    labelled = load_labelled_csv(config.labels, model.input_shape, model.n_outputs, pixel_range=config.pixel_range)
    noise = config.aux is not None and str(config.aux) == NOISE_AUX and not config.aux.exists()
    aux = load_auxiliary(config.aux, model.input_shape) if config.aux and not noise else None
    prepared = prepare_attack_data(
        labelled.images, aux, config.aux.name if config.aux else None, max_aux=config.budget.max_aux, seed=config.seed
    )
    try:
        model.trainable_copy()  # fail early, once, if no copy can be made
        trainable_factory = lambda: _image_space(model.trainable_copy(), model.input_shape[0], config)  # noqa: E731
        why = ""
    except ModelNotTrainableError as err:
        trainable_factory, why = None, f"black-box evidence only: {err}"
    return model, labelled, prepared, trainable_factory, why


def _image_space(module, channels: int, config: ScanConfig):
    """Put the user's input scaling in front of a trainable copy, so it takes [0, 1] images."""
    import torch

    if config.scaling.is_identity:
        return module
    return torch.nn.Sequential(config.scaling.as_module(channels), module)


def _suspect_predictor(model, config: ScanConfig) -> Callable[[np.ndarray], np.ndarray]:
    return lambda images: model.predict(config.scaling.apply(images))


def _train_references(model, labelled, prepared, trainable_factory, config: ScanConfig) -> tuple[list, list[str]]:
    """Honest copies trained from scratch, each by its recipe (`reference_recipes`), on the labelled set
    plus pseudo-labelled attacker inputs; also returns the report's notes on how they were trained
    (recipes, a small labelled set, batch norm given back where it was traced-frozen or folded)."""
    from modelscan_vicious.training.architectures import build_classifier

    pseudo = model.predict(config.scaling.apply(prepared.reference_images)).argmax(1)
    images = np.concatenate([labelled.images, prepared.reference_images])
    labels = np.concatenate([labelled.labels, pseudo])
    folded = trainable_factory is not None and has_folded_batch_norm(trainable_factory())
    recipes = reference_recipes(config.budget.n_references)
    references, rewritten, inserted = [], 0, []
    for i, recipe in enumerate(recipes):
        seed = config.seed * 1000 + i
        if trainable_factory is not None:
            module, kind = reinitialise(trainable_factory(), seed), model.output_kind
            rewritten = use_batch_statistics(module)  # traced batch norm trains as it did for the owner
            inserted = insert_batch_norm(module) if folded else []  # so does batch norm folded at export
        else:  # black box: the closest honest stand-in we can build is a standard CNN
            import torch

            torch.manual_seed(seed)
            module, kind = build_classifier("cnn", model.input_shape, model.n_outputs), "logits"
            rewritten, inserted = 0, []
        epochs = max(1, round(recipe.epoch_fraction * config.budget.reference_epochs))
        trained = train_classifier(
            module,
            images,
            labels,
            output_kind=kind,
            epochs=epochs,
            weight_decay=recipe.weight_decay,
            seed=seed,
            device=config.device,
        )
        fold_batch_norm(inserted)  # back to the suspect's graph, as its exporter did
        if rewritten or inserted:  # an unmodified copy with the trained state: eval-mode graphs for use
            trained = _with_state(trainable_factory(), trained)
        references.append((trained, kind))
    notes = ["references trained with the recipes " + ", ".join(r.name for r in recipes)]
    if len(labelled.labels) < CALIBRATION_LABELLED_ROWS:
        notes.append(
            f"{len(labelled.labels)} labelled rows, fewer than the {CALIBRATION_LABELLED_ROWS} the calibration "
            "was fitted with: the references learn from fewer examples, so P(vicious) is less certain"
        )
    return references, notes + _batch_norm_notes(rewritten, len(inserted))


def _batch_norm_notes(rewritten: int, inserted: int) -> list[str]:
    notes = []
    if rewritten:
        notes.append(
            f"the model stores {rewritten} batch-norm layers frozen (traced); "
            "the references trained them with batch statistics, as the owner did"
        )
    if inserted:
        notes.append(
            f"the model's {inserted} convolutions carry batch norm folded in at export (biases far "
            "outside their initial range); the references trained with batch norm and folded it likewise"
        )
    return notes


def _match_confidence(references, suspect_predict, output_kind, prepared, config) -> tuple[list, list[str]]:
    """Probability-output references re-tempered to the suspect's confidence (detectors/confidence.py)."""
    if output_kind != "probabilities":
        return references, []
    target = floored_log_confidence(suspect_predict(prepared.probe_images))
    matched, temperatures = [], []
    for module, kind in references:
        if kind == "probabilities":
            temperatures.append(
                matching_temperature(module_predictor(module, config.device)(prepared.probe_images), target)
            )
            module = Tempered(module, temperatures[-1])
        matched.append((module, kind))
    if not temperatures:
        return references, []
    note = (
        "probability outputs: each reference's probabilities were re-tempered to the suspect's confidence "
        f"(T = {', '.join(f'{t:.2f}' for t in temperatures)}), since how much survives the attacker's "
        "probability floor depends on confidence, not on vicious training"
    )
    return matched, [note]


def _with_state(fresh, trained):
    """`fresh` (an unmodified copy, eval-mode graphs) carrying `trained`'s weights and statistics."""
    fresh.load_state_dict(trained.state_dict())
    return fresh.to(next(trained.parameters()).device).eval()


def _oracle(predict, output_kind: str, release: str) -> FeatureOracle:
    kind, k = parse_release(release)
    return lambda images: attack_features(released_outputs(predict(images), output_kind, kind, k), output_kind, kind)


def _attack_all(suspect_predict, output_kind, references, prepared, config, plugins) -> dict | None:
    """The surrogate attack on the suspect (as released, and on full outputs) and on every reference."""
    attack = create_attack(ATTACK_NAME, epochs=config.budget.attack_epochs, device=config.device)

    def run(predict, kind, release):
        return attack.run(_oracle(predict, kind, release), prepared.attack, seed=config.seed)

    try:
        full = run(suspect_predict, output_kind, "logits")
        released = full if config.release == "logits" else run(suspect_predict, output_kind, config.release)
        ref_full, ref_released = [], []
        for module, kind in references:
            predict = module_predictor(module, config.device)
            ref_full.append(run(predict, kind, "logits"))
            ref_released.append(ref_full[-1] if config.release == "logits" else run(predict, kind, config.release))
    except (ScanError, ValueError, RuntimeError) as err:
        plugins.append(PluginOutcome(ATTACK_NAME, "attack", "failed", first_line(err)))
        return None
    plugins.append(PluginOutcome(ATTACK_NAME, "attack", "ok"))
    return {"full": full, "released": released, "ref_full": ref_full, "ref_released": ref_released}


def _detect(suspect_predict, model, trainable_factory, references, outcomes, labelled, prepared, config, plugins):
    if outcomes is None:
        plugins.append(PluginOutcome(DETECTOR_NAME, "detector", "skipped", "the surrogate attack it relies on failed"))
        return None
    suspect = ModelUnderTest(suspect_predict, model.output_kind, outcomes["full"], trainable_factory)
    refs = [
        ModelUnderTest(module_predictor(module, config.device), kind, outcome, _copier(module, trainable_factory))
        for (module, kind), outcome in zip(references, outcomes["ref_full"])
    ]
    context = DetectorContext(
        suspect=suspect,
        references=refs,
        labelled_images=labelled.images,
        labelled_labels=labelled.labels,
        probe_images=prepared.probe_images,
        finetune_steps=config.budget.finetune_steps,
        n_bootstrap=config.budget.n_bootstrap,
        seed=config.seed,
        device=config.device,
        white_box=trainable_factory is not None,
    )
    try:
        result = create_detector(DETECTOR_NAME).run(context)
    except (ScanError, ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        plugins.append(PluginOutcome(DETECTOR_NAME, "detector", "failed", first_line(err)))
        return None
    plugins.append(PluginOutcome(DETECTOR_NAME, "detector", "ok"))
    return result


def _copier(module, trainable_factory):
    """Fresh trainable copies of a reference. TorchScript modules do not deep-copy into leaf
    parameters, so those are rebuilt from the suspect's factory and given the reference's weights."""
    if trainable_factory is None:
        return lambda: copy.deepcopy(module)
    temperature = module.temperature if isinstance(module, Tempered) else None
    inner = module.inner if isinstance(module, Tempered) else module

    def rebuild():
        fresh = trainable_factory()
        fresh.load_state_dict(inner.state_dict())
        return fresh if temperature is None else Tempered(fresh, temperature)

    return rebuild


def _rmle(trainable_factory, suspect_predict, output_kind, prepared, config, plugins):
    from modelscan_vicious.scan.white_box import run_rmle

    try:
        result = run_rmle(
            trainable_factory,
            suspect_predict,
            output_kind,
            prepared.attack.eval,
            prepared.attack.covariance_samples,
            config,
        )
    except (ScanError, ValueError, RuntimeError) as err:
        plugins.append(PluginOutcome("rmle", "attack", "failed", first_line(err)))
        return None
    if result is not None:
        plugins.append(PluginOutcome("rmle", "attack", "ok"))
    elif trainable_factory is None:
        plugins.append(PluginOutcome("rmle", "attack", "skipped", "white-box attack needs a trainable copy"))
    else:  # top-K and label releases give rMLE no usable target: the surrogate attack covers them
        plugins.append(PluginOutcome("rmle", "attack", "not-applicable", f"no gradient target under {config.release}"))
    return result


def _mitigations(suspect_predict, output_kind, labelled, prepared, outcomes, config):
    from modelscan_vicious.scan.mitigations import evaluate_mitigations

    attack = create_attack(ATTACK_NAME, epochs=config.budget.attack_epochs, device=config.device)
    honest_R = float(np.median([o.R for o in outcomes["ref_full"]])) if outcomes["ref_full"] else 1.0
    return evaluate_mitigations(
        suspect_predict,
        output_kind,
        attack,
        prepared.attack,
        (labelled.images, labelled.labels),
        honest_R,
        seed=config.seed,
    )


def _reconstruction_result(outcomes: dict, rmle, prepared, config: ScanConfig) -> ReconstructionResult:
    from modelscan_vicious.scan.white_box import stronger

    data = prepared.attack
    best, summaries = stronger(outcomes["released"], data.eval, rmle, data.covariance_samples)
    return ReconstructionResult(
        R=best.R,
        psnr=best.psnr,
        ssim=best.ssim,
        n_eval=len(best.originals),
        covariance_estimator="ledoit-wolf",
        n_covariance_samples=len(data.covariance_samples),
        attacker_data=data.description,
        lower_bound=data.lower_bound,
        release=config.release,
        attack=best.name,
        per_sample_risk=[float(r) for r in best.per_sample_risk],
        reference_R=[o.R for o in outcomes["ref_released"]],
        reference_ssim=[o.ssim for o in outcomes["ref_released"]],
        attacks=summaries,
        example_originals=best.originals[:N_EXAMPLES],
        example_reconstructions=best.reconstructions[:N_EXAMPLES],
    )
