"""The "references" stage: honest copies of the suspect, trained by the scan for the task alone.

Each copy takes a recipe (`detectors/references.py`), learns from the labelled set plus the attacker's
inputs pseudo-labelled by the suspect's top-1 prediction, and gets back batch norm the export froze
or folded. Probability-output references are then re-tempered to the suspect's confidence.
"""

from __future__ import annotations

import copy

import numpy as np

from modelscan_vicious.config import ScanConfig
from modelscan_vicious.detectors.calibration import CALIBRATION_LABELLED_ROWS
from modelscan_vicious.detectors.confidence import Tempered, floored_log_confidence, matching_temperature
from modelscan_vicious.detectors.references import reference_recipes
from modelscan_vicious.loading.batch_norm import use_batch_statistics
from modelscan_vicious.loading.folded_batch_norm import fold_batch_norm, has_folded_batch_norm, insert_batch_norm
from modelscan_vicious.scanning.stages import LoadedInputs, Reference, ReferenceSet, TrainableFactory
from modelscan_vicious.training.classifier import module_predictor, reinitialise, train_classifier


def train_references(loaded: LoadedInputs, config: ScanConfig) -> ReferenceSet:
    """Honest copies trained from scratch, each by its recipe, with the report's notes on how they were
    trained (recipes, a small labelled set, batch norm given back where it was traced-frozen or folded)."""
    from modelscan_vicious.training.architectures import build_classifier

    model, labelled, trainable = loaded.model, loaded.labelled, loaded.trainable
    reference_images = loaded.prepared.reference_images
    pseudo = loaded.predict(reference_images).argmax(1)
    images = np.concatenate([labelled.images, reference_images])
    labels = np.concatenate([labelled.labels, pseudo])
    folded = trainable is not None and has_folded_batch_norm(trainable())
    recipes = reference_recipes(config.budget.n_references)
    references, rewritten, inserted = [], 0, []
    for i, recipe in enumerate(recipes):
        seed = config.seed * 1000 + i
        if trainable is not None:
            module, kind = reinitialise(trainable(), seed), model.output_kind
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
            assert trainable is not None  # only copies of the suspect get batch norm back
            trained = _with_state(trainable(), trained)
        references.append(Reference(trained, kind))
    notes = ["references trained with the recipes " + ", ".join(r.name for r in recipes)]
    if len(labelled.labels) < CALIBRATION_LABELLED_ROWS:
        notes.append(
            f"{len(labelled.labels)} labelled rows, fewer than the {CALIBRATION_LABELLED_ROWS} the calibration "
            "was fitted with: the references learn from fewer examples, so P(vicious) is less certain"
        )
    return ReferenceSet(references, notes + _batch_norm_notes(rewritten, len(inserted)))


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


def match_confidence(trained: ReferenceSet, loaded: LoadedInputs, config: ScanConfig) -> ReferenceSet:
    """Probability-output references re-tempered to the suspect's confidence (detectors/confidence.py)."""
    if loaded.model.output_kind != "probabilities":
        return trained
    probes = loaded.prepared.probe_images
    target = floored_log_confidence(loaded.predict(probes))
    matched, temperatures = [], []
    for reference in trained.references:
        module = reference.module
        if reference.output_kind == "probabilities":
            temperatures.append(matching_temperature(module_predictor(module, config.device)(probes), target))
            module = Tempered(module, temperatures[-1])
        matched.append(Reference(module, reference.output_kind))
    if not temperatures:
        return trained
    note = (
        "probability outputs: each reference's probabilities were re-tempered to the suspect's confidence "
        f"(T = {', '.join(f'{t:.2f}' for t in temperatures)}), since how much survives the attacker's "
        "probability floor depends on confidence, not on vicious training"
    )
    return ReferenceSet(matched, [*trained.notes, note])


def _with_state(fresh, trained):
    """`fresh` (an unmodified copy, eval-mode graphs) carrying `trained`'s weights and statistics."""
    fresh.load_state_dict(trained.state_dict())
    return fresh.to(next(trained.parameters()).device).eval()


def reference_copier(module, trainable: TrainableFactory | None):
    """Fresh trainable copies of a reference. TorchScript modules do not deep-copy into leaf
    parameters, so those are rebuilt from the suspect's factory and given the reference's weights."""
    if trainable is None:
        return lambda: copy.deepcopy(module)
    temperature = module.temperature if isinstance(module, Tempered) else None
    inner = module.inner if isinstance(module, Tempered) else module

    def rebuild():
        fresh = trainable()
        fresh.load_state_dict(inner.state_dict())
        return fresh if temperature is None else Tempered(fresh, temperature)

    return rebuild
