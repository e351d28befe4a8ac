"""Running the scan's reference training on an in-memory suspect, for tests of how references are made."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch


def train_references(
    suspect,
    factory,
    images: np.ndarray,
    *,
    n_labelled: int,
    n_outputs: int,
    tmp_path,
    n_references: int = 1,
    reference_epochs: int = 2,
    output_kind: str = "logits",
    release: str = "logits",
    references: str = "scratch",
) -> tuple[list, list[str]]:
    """`scan.references.train_references` for `suspect` (a module): the first `n_labelled` images, with random labels,
    are the labelled set; the rest are the attacker's inputs the references also learn from."""
    from modelscan_vicious.config import BUDGETS, ScanConfig
    from modelscan_vicious.scanning.references import train_references as train
    from modelscan_vicious.scanning.stages import LoadedInputs

    labels = np.random.default_rng(0).integers(0, n_outputs, n_labelled)
    model = SimpleNamespace(
        output_kind=output_kind,
        input_shape=tuple(images.shape[1:]),
        n_outputs=n_outputs,
        predict=lambda x: suspect(torch.from_numpy(x)).detach().numpy(),
    )
    budget = replace(BUDGETS["fast"], n_references=n_references, reference_epochs=reference_epochs)
    config = ScanConfig(labels=tmp_path / "l.csv", budget=budget, release=release, references=references)
    loaded = LoadedInputs(
        model=model,
        labelled=SimpleNamespace(images=images[:n_labelled], labels=labels),
        prepared=SimpleNamespace(reference_images=images[n_labelled:]),
        predict=model.predict,
        trainable=factory,
    )
    trained = train(loaded, config)
    return [(r.module, r.output_kind) for r in trained.references], trained.notes
