"""The "references" stage: honest copies of the suspect, trained by the scan for the task alone.

Each copy takes a recipe (`detectors/references.py`), learns from the labelled set plus the attacker's
inputs pseudo-labelled by the suspect's top-1 prediction, and gets back batch norm the export froze
or folded. With the head method (`config.references == "head"`, for models too large to train from
scratch in the time given) a copy is the suspect with only its head (last two weight layers) re-trained
(`training/head.py`). Probability-output references are then re-tempered to the suspect's confidence
(not cached: the temperatures depend on the suspect's own outputs, and take milliseconds). Trained references are
cached by what determines them (`reference_cache.py`, `reference_key.py`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from functools import partial

import numpy as np

from modelscan_vicious import __version__
from modelscan_vicious.config import ScanConfig
from modelscan_vicious.detectors.calibration import CALIBRATION_LABELLED_ROWS
from modelscan_vicious.detectors.confidence import Tempered, floored_log_confidence, matching_temperature
from modelscan_vicious.detectors.references import reference_recipes
from modelscan_vicious.loading.batch_norm import use_batch_statistics
from modelscan_vicious.loading.folded_batch_norm import fold_batch_norm, has_folded_batch_norm, insert_batch_norm
from modelscan_vicious.scanning.reference_cache import (
    REFERENCES,
    CachedReferences,
    CacheEntryError,
    ReferenceCache,
    active_cache,
    read_references,
    write_references,
)
from modelscan_vicious.scanning.reference_key import (
    architecture_fingerprint,
    array_digest,
    code_digest,
    execution_environment,
    reference_key,
    weights_digest,
)
from modelscan_vicious.scanning.stages import LoadedInputs, Reference, ReferenceSet, TrainableFactory
from modelscan_vicious.training.classifier import module_predictor, reinitialise, train_classifier


def train_references(loaded: LoadedInputs, config: ScanConfig, *, cache: ReferenceCache | None = None) -> ReferenceSet:
    """Honest copies trained from scratch, each by its recipe, with the report's notes on how they were
    trained (recipes, a small labelled set, batch norm given back where it was traced-frozen or folded).

    With a cache (`cache`, else the one `reference_cache.using_cache` made active), trained references
    are looked up by `reference_key.py`'s key first and stored after training. Either way the references
    are rebuilt from their state dicts, so a hit gives bit-identical references to a fresh training. The
    stage leaves the global random generators as it found them, whichever path it took.
    """
    import torch

    cache = cache if cache is not None else active_cache()
    images, labels = _training_set(loaded)
    folded = loaded.trainable is not None and has_folded_batch_norm(loaded.trainable())
    devices = [torch.cuda.current_device()] if config.device == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        key = _cache_key(loaded, config, images, labels, folded) if cache is not None else ""
        entry = _cached(cache, key)
        if entry is None:
            entry = _train(loaded, config, images, labels, folded)
            if cache is not None:
                cache.store(key, REFERENCES, partial(write_references, entry=entry))
        references = [
            Reference(_rebuilt(loaded, state, config), kind) for state, kind in zip(entry.states, entry.output_kinds)
        ]
    return ReferenceSet(references, list(entry.notes))


def _cached(cache: ReferenceCache | None, key: str) -> CachedReferences | None:
    if cache is None:
        return None
    folder = cache.lookup(key, REFERENCES)
    if folder is None:
        return None
    try:
        return read_references(folder)
    except CacheEntryError as err:  # verified digests, yet unreadable: an entry we did not write
        cache.reject(key, REFERENCES, err)
        return None


def _training_set(loaded: LoadedInputs) -> tuple[np.ndarray, np.ndarray]:
    """The labelled set plus the attacker's inputs, pseudo-labelled by the suspect's top-1 prediction."""
    reference_images = loaded.prepared.reference_images
    pseudo = loaded.predict(reference_images).argmax(1)
    images = np.concatenate([loaded.labelled.images, reference_images])
    return images, np.concatenate([loaded.labelled.labels, pseudo])


def _cache_key(loaded: LoadedInputs, config: ScanConfig, images: np.ndarray, labels: np.ndarray, folded: bool) -> str:
    model, weights = loaded.model, None
    if loaded.trainable is not None:
        architecture = architecture_fingerprint(loaded.trainable())
        if _method(loaded, config) == "head":  # head references keep the suspect's weights outside the head
            weights = weights_digest(loaded.trainable())
    else:
        architecture = f"black-box standard cnn {list(model.input_shape)} {model.n_outputs}"
    return reference_key(
        {
            "tool_version": __version__,
            "code": code_digest(),
            "architecture": architecture,
            "output_kind": model.output_kind,
            "folded_batch_norm": folded,
            "images": array_digest(images.astype(np.float32, copy=False)),
            "labels": array_digest(labels.astype(np.int64, copy=False)),
            "labelled_rows": len(loaded.labelled.labels),
            "seed": config.seed,
            "recipes": [asdict(r) for r in reference_recipes(config.budget.n_references)],
            "method": _method(loaded, config),
            "suspect_weights": weights,  # None for from-scratch references, which start from no trained weight
            "reference_epochs": config.budget.reference_epochs,
            "scaling": config.scaling.to_dict(),
            "execution": execution_environment(config.device),
        }
    )


def _train(
    loaded: LoadedInputs, config: ScanConfig, images: np.ndarray, labels: np.ndarray, folded: bool
) -> CachedReferences:
    """Train every reference by its recipe; their state dicts (on the CPU), output kinds and notes."""
    from modelscan_vicious.training.architectures import build_classifier

    model, trainable = loaded.model, loaded.trainable
    recipes = reference_recipes(config.budget.n_references)
    if _method(loaded, config) == "head":
        return _train_heads(loaded, config, images, labels)
    states, kinds, rewritten, inserted = [], [], 0, []
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
        states.append({name: value.detach().cpu().clone() for name, value in trained.state_dict().items()})
        kinds.append(kind)
    notes = ["references trained with the recipes " + ", ".join(r.name for r in recipes)]
    return CachedReferences(states, kinds, notes + _few_rows_note(loaded) + _batch_norm_notes(rewritten, len(inserted)))


def _few_rows_note(loaded: LoadedInputs) -> list[str]:
    if len(loaded.labelled.labels) >= CALIBRATION_LABELLED_ROWS:
        return []
    return [
        f"{len(loaded.labelled.labels)} labelled rows, fewer than the {CALIBRATION_LABELLED_ROWS} the "
        "calibration was fitted with: the references learn from fewer examples, so P(vicious) is less certain"
    ]


def _method(loaded: LoadedInputs, config: ScanConfig) -> str:
    """The reference method that runs: "head" only when asked (or chosen by the estimate) and possible."""
    return "head" if config.references == "head" and loaded.trainable is not None else "scratch"


def _train_heads(loaded: LoadedInputs, config: ScanConfig, images: np.ndarray, labels: np.ndarray) -> CachedReferences:
    """The head method: each reference is the suspect with its head re-initialised by its seed and
    re-trained by its recipe, every other weight and statistic frozen at the suspect's."""
    from modelscan_vicious.training.head import head_parameters, retrain_head

    assert loaded.trainable is not None  # _method gives "head" only with a trainable copy
    recipes = reference_recipes(config.budget.n_references)
    states, head = [], []
    for i, recipe in enumerate(recipes):
        module = loaded.trainable()
        head = head_parameters(module, loaded.model.n_outputs)
        trained = retrain_head(
            module,
            head,
            images,
            labels,
            output_kind=loaded.model.output_kind,
            epochs=max(1, round(recipe.epoch_fraction * config.budget.reference_epochs)),
            weight_decay=recipe.weight_decay,
            seed=config.seed * 1000 + i,
            device=config.device,
        )
        states.append({name: value.detach().cpu().clone() for name, value in trained.state_dict().items()})
    notes = [
        f"references: the model with its head ({', '.join(head)}) re-initialised and re-trained for "
        "the task alone, every other weight frozen (--references head), with the recipes "
        + ", ".join(r.name for r in recipes)
    ]
    return CachedReferences(states, [loaded.model.output_kind] * len(states), notes + _few_rows_note(loaded))


def _rebuilt(loaded: LoadedInputs, state: dict, config: ScanConfig):
    """A fresh, unmodified copy (eval-mode graphs: traced batch norm frozen again, folded batch norm
    folded) carrying a trained reference's weights and statistics."""
    from modelscan_vicious.training.architectures import build_classifier

    if loaded.trainable is not None:
        fresh = loaded.trainable()
    else:
        fresh = build_classifier("cnn", loaded.model.input_shape, loaded.model.n_outputs)
    fresh.load_state_dict(state)
    return fresh.to(config.device).eval()


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
